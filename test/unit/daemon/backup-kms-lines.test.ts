// daemon/backup.ts: what `s3d backup` says of the KMS key. After "the development KMS key was
// copied" it said "S3_KMS_SECRET_KEY … is not in the backup", naming a key a --dev daemon does
// not use as if it were the one missing.
import t from 'tap';
import { kmsKeyLines } from '../../../daemon/backup.js';

t.test('without a development key file: the KMS key is to be backed up separately', async (t) => {
  t.strictSame(kmsKeyLines(false), [
    'S3_KMS_SECRET_KEY (or the KES keystore) is not in the backup: keep it backed up separately; without it SSE-S3 and SSE-KMS objects cannot be decrypted',
  ]);
});

t.test('with one: copied, and S3_KMS_SECRET_KEY or KES named only as what it would be instead', async (t) => {
  const lines = kmsKeyLines(true);
  t.strictSame(lines, [
    'the development KMS key (.s3d/kms-dev.key) was copied with it: the key of a daemon started with --dev and no S3_KMS_SECRET_KEY',
    'if the daemon uses S3_KMS_SECRET_KEY (or KES) instead, that key is not in the backup: keep it backed up separately; without it SSE-S3 and SSE-KMS objects cannot be decrypted',
  ]);
});
