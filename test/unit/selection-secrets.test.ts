import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { createSecretsFile, SelectionSecrets } from '../../core/customs/rules/selection.js';

describe('selection secrets file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'portstream-secrets-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a private file of one random secret, different per deployment, and never overwrites it', () => {
    const a = path.join(dir, 'a.json');
    const b = path.join(dir, 'b.json');
    createSecretsFile(a, 'v1');
    createSecretsFile(b, 'v1');
    expect(statSync(a).mode & 0o777).toBe(0o600);
    const ka = new SelectionSecrets(a, silentLogger()).keyFor(undefined);
    const kb = new SelectionSecrets(b, silentLogger()).keyFor(undefined);
    expect(ka.version).toBe('v1');
    expect(ka.secret).toHaveLength(32);
    expect(Buffer.from(ka.secret).equals(Buffer.from(kb.secret))).toBe(false);
    const before = readFileSync(a, 'utf8');
    expect(() => {
      createSecretsFile(a);
    }).toThrow();
    expect(readFileSync(a, 'utf8')).toBe(before);
  });

  it('uses the version the rules name, else the newest; rotation keeps old versions for replay', () => {
    const f = path.join(dir, 'rotated.json');
    const s1 = 'a'.repeat(64);
    const s2 = 'b'.repeat(64);
    writeFileSync(
      f,
      JSON.stringify({
        secrets: [
          { version: 'v1', secret: s1 },
          { version: 'v2', secret: s2 },
        ],
      }),
    );
    const secrets = new SelectionSecrets(f, silentLogger());
    expect(secrets.keyFor(undefined).version).toBe('v2');
    expect(Buffer.from(secrets.keyFor('v1').secret).toString('hex')).toBe(s1);
    expect(secrets.keyFor('gone').version).toBe('v2');
  });

  it('refuses a bad file naming the problem, never echoing a secret', () => {
    const f = path.join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ secrets: [{ version: 'v1', secret: 'c0ffee' }] }));
    expect(() => new SelectionSecrets(f, silentLogger())).toThrow(/secrets\.0\.secret: at least 32 bytes/);
    try {
      new SelectionSecrets(f, silentLogger());
    } catch (err) {
      expect((err as Error).message).not.toContain('c0ffee');
    }
  });
});
