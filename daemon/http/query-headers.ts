// x-amz-* query parameters as request headers: how presigned URLs carry the headers they sign.

// Query parameters that authenticate or frame the request: never request headers.
const NOT_HOISTED = new Set([
  'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders', 'x-amz-signature',
  'x-amz-security-token', 'x-amz-content-sha256', 'x-amz-decoded-content-length', 'x-amz-trailer',
]);

/**
 * Checksums in a URL's query are not the request's: S3 neither checks nor keeps them (a wrong
 * X-Amz-Checksum-Sha256 in a presigned PutObject's query is answered 200 and the object has no
 * SHA-256: aws/aws-sdk-go-v2#2610, aws/aws-sdk#480; the Go SDK's presigner stopped hoisting them
 * for that, aws-sdk-go-v2#3522). The JavaScript SDK's presigner (since 3.729, by default) signs
 * the CRC32 of the empty body it had at signing time into every presigned PutObject and UploadPart
 * URL (`x-amz-checksum-crc32=AAAAAA==`, with `x-amz-sdk-checksum-algorithm`), so checking it made
 * every upload through such a URL fail with BadDigest. A part to a COMPOSITE upload through such a
 * URL is therefore sent without a checksum, refused as S3 refuses it (ops/multipart-checksums.ts
 * partChecksum). A checksum sent as a header (one the URL signs as a header) is checked and kept
 * as always.
 *
 * The checksum settings beside them are not the request's either. S3 answers checksums to
 * x-amz-checksum-mode sent as a header only (aws/aws-sdk-java-v2#7035; boto/boto3#3465), and the
 * JavaScript presigner puts `x-amz-checksum-mode=ENABLED` in every presigned GET and HEAD URL (the
 * Go SDK's too, aws-sdk-go-v2#3530). Its CreateMultipartUpload and CopyObject URLs carry
 * ChecksumAlgorithm and ChecksumType as x-amz-checksum-algorithm and x-amz-checksum-type: taken,
 * they made the upload COMPOSITE, so every part through a presigned UploadPart URL (its checksum
 * in the query, ignored) was refused and the upload could never complete.
 */
function queryChecksum(name: string): boolean {
  return name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm';
}

/**
 * `x-amz-*` query parameters count as the request's headers where no header says otherwise: how
 * presigned URLs carry them (boto3's V2 presigner moves every signed x-amz-* header into the URL;
 * a V4 URL may carry them as signed query parameters). Both signature versions sign the query's
 * x-amz-* parameters, so nothing unsigned is hoisted into a signed request. Checksums excepted
 * (queryChecksum).
 */
export function withQueryAmzHeaders(headers: Record<string, string>, query: URLSearchParams): Record<string, string> {
  let out = headers;
  for (const [name, value] of query) {
    const n = name.toLowerCase();
    if (!n.startsWith('x-amz-') || NOT_HOISTED.has(n) || out[n] !== undefined || queryChecksum(n)) continue;
    // Copied only when there is something to add: most requests have no such parameter.
    if (out === headers) out = Object.assign(Object.create(null) as Record<string, string>, headers);
    out[n] = value;
  }
  return out;
}
