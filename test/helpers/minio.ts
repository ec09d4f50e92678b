// The minio npm client against a test daemon: path-style, the test credentials, and the daemon's
// test CA when it serves TLS.

import { Agent as HttpsAgent } from 'node:https';
import { Client as MinioClient, type ClientOptions } from 'minio';
import { ACCESS_KEY, REGION, SECRET_KEY, type TestDaemon } from './daemon.js';

/** A minio client of `d` (HTTPS trusting d.caCert when the daemon serves TLS); `opts` override. */
export function minioClient(d: Pick<TestDaemon, 'port' | 'caCert'>, opts: Partial<ClientOptions> = {}): MinioClient {
  return new MinioClient({
    endPoint: '127.0.0.1',
    port: d.port,
    useSSL: d.caCert !== undefined,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    region: REGION,
    pathStyle: true,
    ...(d.caCert !== undefined ? { transportAgent: new HttpsAgent({ ca: d.caCert }) } : {}),
    ...opts,
  });
}
