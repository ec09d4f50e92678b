// What s3d's log lines (the daemon's and s3d verify's) do with the values they carry.
import { stdSerializers } from 'pino';

/**
 * `err` in a log line: an Error with its type and stack (pino's serializer); the plain
 * `{ message, code }` objects s3d logs for expected failures as given (pino's serializer would add
 * `"type":"Object","stack":""` to them).
 */
export const LOG_SERIALIZERS = { err: (e: unknown): unknown => (e instanceof Error ? stdSerializers.err(e) : e) };
