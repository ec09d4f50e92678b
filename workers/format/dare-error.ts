// The one error type of the DARE codec and the pipelines built on it. Errors cross the worker
// boundary as a bare `code` (structured clone drops custom fields), so the code is the contract.

export const DARE_ERROR_CODES = [
  'NotAuthentic', // a tag did not verify: bit flip, reordered or spliced package, wrong key
  'Truncated', // the stream ended before its final package, or inside a package
  'UnexpectedData', // bytes follow the final package
  'InvalidSize', // a size that no DARE stream can have (short non-final package, bad length field)
  'UnsupportedVersion', // version byte is not 0x20 (DARE 1.0 is not read)
  'UnsupportedCipher', // unknown cipher suite byte, or a suite that changes mid-stream
  'NonceMismatch', // a package's random value differs from the stream's first package
  'Aborted', // the caller cancelled the operation
] as const;

export type DareErrorCode = (typeof DARE_ERROR_CODES)[number];

export class DareError extends Error {
  readonly code: DareErrorCode;

  constructor(code: DareErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? `DARE: ${code}`, options);
    this.name = 'DareError';
    this.code = code;
  }
}

export function isDareErrorCode(value: unknown): value is DareErrorCode {
  return typeof value === 'string' && (DARE_ERROR_CODES as readonly string[]).includes(value);
}

export function isDareError(err: unknown): err is DareError {
  return err instanceof DareError;
}
