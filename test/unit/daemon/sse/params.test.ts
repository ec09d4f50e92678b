// The SSE request headers of a write, as S3 reads them: which kind they ask for, and S3's answer to
// combinations that ask for nothing coherent.
import t from 'tap';
import { parseEncryptionRequest } from '../../../../daemon/sse/params.js';

function refusal(headers: Record<string, string>): [string, string] | 'ok' {
  try {
    parseEncryptionRequest(headers);
    return 'ok';
  } catch (err) {
    const e = err as { code: string; message: string };
    return [e.code, e.message];
  }
}

t.test('the kinds asked for', async (t) => {
  t.same(parseEncryptionRequest({}), { kind: 'none' });
  t.same(parseEncryptionRequest({ 'x-amz-server-side-encryption': 'AES256' }), { kind: 'SSE-S3' });
  t.equal(parseEncryptionRequest({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'k' }).kind, 'SSE-KMS');
});

t.test('a KMS key id or context needs x-amz-server-side-encryption: aws:kms (S3 says so, whether the header is AES256 or absent)', async (t) => {
  const words = 'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms';
  t.same(refusal({ 'x-amz-server-side-encryption-aws-kms-key-id': 'k' }), ['InvalidArgument', words], 'a key id alone');
  t.same(refusal({ 'x-amz-server-side-encryption-context': Buffer.from('{"a":"b"}').toString('base64') }), ['InvalidArgument', words], 'a context alone');
  t.same(refusal({ 'x-amz-server-side-encryption': 'AES256', 'x-amz-server-side-encryption-aws-kms-key-id': 'k' }), ['InvalidArgument', words], 'beside AES256');
  t.match(refusal({ 'x-amz-server-side-encryption': 'DES' }), ['InvalidArgument', /not supported/], 'an algorithm S3 does not have');
});
