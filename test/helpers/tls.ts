// A development CA for tests, made by scripts/dev-ca.sh (the same script developers use) in a temporary folder.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface DevCa {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  cleanup(): Promise<void>;
}

export async function makeDevCa(): Promise<DevCa> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-ca-'));
  await promisify(execFile)('bash', ['scripts/dev-ca.sh', dir], {
    env: { ...process.env, DEV_CA_DAYS: '2' },
  });
  const f = (name: string): string => path.join(dir, name);
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server-key.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client-key.pem'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
