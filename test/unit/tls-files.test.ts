import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config.js';
import { natsTlsFromConfig, serverTlsFromConfig } from '../../core/tls/files.js';
import { makeDevCa, type DevCa } from '../helpers/tls.js';

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error('no ConfigError');
}

describe('TLS files from config', () => {
  let ca: DevCa;
  let junk: string;
  beforeAll(async () => {
    ca = await makeDevCa();
    junk = path.join(ca.dir, 'junk.pem');
    await writeFile(junk, 'not a pem file\n');
  });
  afterAll(async () => {
    await ca.cleanup();
  });

  const server = (over: Record<string, string | undefined>) => ({
    TLS_CERT_FILE: ca.serverCert,
    TLS_KEY_FILE: ca.serverKey,
    TLS_CLIENT_CA_FILE: undefined,
    ...over,
  });

  it('is plaintext when nothing is set, and loads a matching pair (with a client CA for mutual TLS)', () => {
    expect(
      serverTlsFromConfig({
        TLS_CERT_FILE: undefined,
        TLS_KEY_FILE: undefined,
        TLS_CLIENT_CA_FILE: undefined,
      }),
    ).toBeUndefined();
    const tls = serverTlsFromConfig(server({ TLS_CLIENT_CA_FILE: ca.ca }));
    expect(tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls?.clientCa?.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('names the variable of a missing, non-PEM, unpaired or mismatched file', () => {
    expect(problemOf(() => serverTlsFromConfig(server({ TLS_CERT_FILE: '/nope.pem' })))).toMatch(
      /^TLS_CERT_FILE="\/nope.pem": cannot read the file \(ENOENT\)/,
    );
    expect(problemOf(() => serverTlsFromConfig(server({ TLS_KEY_FILE: junk })))).toMatch(
      /^TLS_KEY_FILE=.*: not a PEM private key/,
    );
    expect(problemOf(() => serverTlsFromConfig(server({ TLS_CLIENT_CA_FILE: junk })))).toMatch(
      /^TLS_CLIENT_CA_FILE=.*: not a PEM certificate/,
    );
    expect(problemOf(() => serverTlsFromConfig(server({ TLS_KEY_FILE: undefined })))).toMatch(
      /^TLS_KEY_FILE: must be set together with TLS_CERT_FILE/,
    );
    expect(problemOf(() => serverTlsFromConfig(server({ TLS_KEY_FILE: ca.clientKey })))).toMatch(
      /^TLS_CERT_FILE: the certificate does not match its private key/,
    );
    expect(
      problemOf(() =>
        serverTlsFromConfig({ TLS_CERT_FILE: undefined, TLS_KEY_FILE: undefined, TLS_CLIENT_CA_FILE: ca.ca }),
      ),
    ).toMatch(/^TLS_CLIENT_CA_FILE: mutual TLS needs TLS_CERT_FILE/);
    expect(
      problemOf(() =>
        natsTlsFromConfig({
          NATS_TLS_CA_FILE: ca.ca,
          NATS_TLS_CERT_FILE: ca.clientCert,
          NATS_TLS_KEY_FILE: junk,
        }),
      ),
    ).toMatch(/^NATS_TLS_KEY_FILE=/);
  });

  it('never puts key material in a message', () => {
    const msg = problemOf(() => serverTlsFromConfig(server({ TLS_KEY_FILE: ca.clientKey })));
    expect(msg).not.toContain('PRIVATE KEY');
  });
});
