// What a synchronous call throws, for unit tests of parsers and checks.

/** 'ok' when `fn` returns, else the thrown error's code (an S3Error's), or its text. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}
