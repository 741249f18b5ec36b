import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SETTINGS } from '../../core/config.js';
import { editDistance, nearestSetting, settingPrefixes } from '../../core/config-spelling.js';

const NAMES = Object.keys(SETTINGS);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('misspelt settings', () => {
  it('derives the prefixes from the settings themselves', () => {
    const prefixes = settingPrefixes(NAMES);
    for (const p of ['NATS_', 'JS_', 'INGEST_', 'CUSTOMS_', 'PROCESSOR_', 'SINK_', 'CLICKHOUSE_', 'API_'])
      expect(prefixes).toContain(p);
    for (const p of ['RATE_', 'TLS_', 'UP_', 'AUTH_', 'OPS_', 'LOG_', 'SHUTDOWN_', 'PORTSTREAM_'])
      expect(prefixes).toContain(p);
    expect(prefixes).not.toContain('PATH_');
  });

  it('measures edit distance', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('SINK_FLUSH_MS', 'SINK_FLUSH_MS')).toBe(0);
  });

  it('stops start-up naming each unknown variable and the nearest setting', () => {
    const problems = problemsOf({
      SINK_FLUSH_MS: '1000',
      API_HOST: '0.0.0.0',
      NATS_URLS: 'nats://x:4222',
      INGEST_PROT: '50051',
      PROCESSOR_ACK_WAIT_SECONDS: '30',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^API_HOST: not a setting; did you mean API_GRPC_HOST\?/),
      expect.stringMatching(/^INGEST_PROT: not a setting; did you mean INGEST_PORT\?/),
      expect.stringMatching(/^NATS_URLS: not a setting; did you mean NATS_URL\?/),
      expect.stringMatching(
        /^PROCESSOR_ACK_WAIT_SECONDS: not a setting; did you mean PROCESSOR_ACK_WAIT_MS\?/,
      ),
      expect.stringMatching(/^SINK_FLUSH_MS: not a setting; did you mean SINK_FLUSH_INTERVAL_MS\?/),
    ]);
    expect(nearestSetting('RATE_LIMIT_EVENT_PER_SECOND', NAMES)).toBe('RATE_LIMIT_EVENTS_PER_SECOND');
  });

  it('reports a misspelling together with bad values', () => {
    const problems = problemsOf({ TLS_CERT: '/x.pem', INGEST_PORT: 'abc' });
    expect(problems.map((p) => p.split(/[:=]/)[0]).sort()).toEqual(['INGEST_PORT', 'TLS_CERT']);
    expect(problems.join('\n')).toMatch(/TLS_CERT: not a setting; did you mean TLS_CERT_FILE\?/);
  });

  it('ignores variables of other software and every real setting', () => {
    const env: Record<string, string> = { PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'test', CI: 'true' };
    expect(problemsOf(env)).toEqual([]);
    // Every setting at its documented default is accepted (nothing here is "unknown").
    const all = Object.fromEntries(
      NAMES.map((n) => [n, n === 'PROCESSOR_ROLES' ? 'customs,state' : ''] as const),
    );
    expect(problemsOf(all)).toEqual([]);
  });

  it('the environment the tests run in passes (a CI variable with a settings prefix would fail every service)', () => {
    expect(problemsOf(process.env as Record<string, string>)).toEqual([]);
  });

  it('flags (overrides) are never checked as misspellings: they name settings by construction', () => {
    expect(loadConfig({}, { INGEST_PORT: '7000' }).INGEST_PORT).toBe(7000);
  });
});
