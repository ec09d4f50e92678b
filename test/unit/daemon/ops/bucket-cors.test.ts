// ops/bucket-cors.ts on its own: parsing CORSConfiguration documents (every element, the
// refusals S3 makes, with its codes and messages), and giving them back in S3's element order.
import t from 'tap';
import { corsXml, parseCorsConfiguration } from '../../../../daemon/ops/bucket-cors.js';

const conf = (...rules: string[]): Buffer => Buffer.from(`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules.map((r) => `<CORSRule>${r}</CORSRule>`).join('')}</CORSConfiguration>`);

function failure(fn: () => unknown): { code: string; message: string } | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code ?? String(err), message: e.message };
  }
}

t.test('rules parse, keep their order and spelling, and read back the same way', async (t) => {
  const rules = parseCorsConfiguration(
    conf(
      '<ID>uploads</ID><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedOrigin>https://*.example.org</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>',
      '<AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>',
      '<AllowedMethod>HEAD</AllowedMethod><AllowedOrigin></AllowedOrigin>',
    ),
  );
  t.strictSame(rules, [
    { id: 'uploads', allowedMethods: ['PUT', 'POST'], allowedOrigins: ['https://app.example.com', 'https://*.example.org'], allowedHeaders: ['Content-Type', 'x-amz-*'], exposeHeaders: ['ETag'], maxAgeSeconds: 3000 },
    { allowedMethods: ['GET'], allowedOrigins: ['*'] },
    { allowedMethods: ['HEAD'], allowedOrigins: [''] },
  ]);
  const xml = corsXml(rules);
  t.match(
    xml,
    '<CORSRule><ID>uploads</ID><AllowedHeader>Content-Type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedOrigin>https://*.example.org</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>',
    "S3's element order",
  );
  t.match(xml, /^<\?xml[^>]*>\n<CORSConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/">/);
  t.strictSame(parseCorsConfiguration(Buffer.from(xml)), rules, 'what Get gives back parses to the same rules');
  t.equal(parseCorsConfiguration(conf(`<ID>${'i'.repeat(255)}</ID><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>`))[0]!.id?.length, 255, 'a 255-character ID');
  t.equal(parseCorsConfiguration(conf(...Array.from({ length: 100 }, () => '<AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>'))).length, 100, '100 rules');
});

t.test('refusals, with the codes and messages S3 gives', async (t) => {
  const ok = '<AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>';
  t.match(failure(() => parseCorsConfiguration(conf('<AllowedMethod>GET</AllowedMethod><AllowedMethod>PATCH</AllowedMethod><AllowedOrigin>*</AllowedOrigin>'))), {
    code: 'InvalidRequest',
    message: 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH',
  });
  t.match(failure(() => parseCorsConfiguration(conf('<AllowedMethod>get</AllowedMethod><AllowedOrigin>*</AllowedOrigin>'))), { code: 'InvalidRequest' }, 'methods are upper-case');
  t.match(failure(() => parseCorsConfiguration(conf('<AllowedMethod>GET</AllowedMethod><AllowedOrigin>https://*.*.example.com</AllowedOrigin>'))), { code: 'InvalidRequest', message: /AllowedOrigin "https:\/\/\*\.\*\.example\.com" can not have more than one wildcard/ });
  t.match(failure(() => parseCorsConfiguration(conf(`${ok}<AllowedHeader>x-*-*</AllowedHeader>`))), { code: 'InvalidRequest', message: /AllowedHeader/ });
  t.match(failure(() => parseCorsConfiguration(conf(`<ID>${'i'.repeat(256)}</ID>${ok}`))), { code: 'InvalidArgument' }, 'ID over 255 characters');
  t.match(failure(() => parseCorsConfiguration(conf(...Array.from({ length: 101 }, () => ok)))), { code: 'MalformedXML' }, '101 rules');
  const malformed: Array<[string, Buffer]> = [
    ['no rule', conf()],
    ['an empty rule', conf('')],
    ['no method', conf('<AllowedOrigin>*</AllowedOrigin>')],
    ['no origin', conf('<AllowedMethod>GET</AllowedMethod>')],
    ['an unknown element', conf(`${ok}<AllowedMethods>GET</AllowedMethods>`)],
    ['a bad MaxAgeSeconds', conf(`${ok}<MaxAgeSeconds>1.5</MaxAgeSeconds>`)],
    ['a MaxAgeSeconds past 32 bits', conf(`${ok}<MaxAgeSeconds>-2147483649</MaxAgeSeconds>`)],
    ['a nested origin', conf('<AllowedMethod>GET</AllowedMethod><AllowedOrigin><x>1</x></AllowedOrigin>')],
    ['not XML', Buffer.from('<CORSConfiguration><CORSRule>')],
    ['another document', Buffer.from('<LifecycleConfiguration/>')],
  ];
  for (const [what, body] of malformed) t.match(failure(() => parseCorsConfiguration(body)), { code: 'MalformedXML' }, what);
  // No body at all: S3's MissingRequestBodyError, as for every configuration PUT.
  t.match(failure(() => parseCorsConfiguration(Buffer.alloc(0))), { code: 'MissingRequestBodyError' }, 'an empty body');
});
