import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, natsProcs, oneMachineNatsProcs } from '../../core/config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.INGEST_PORT).toBe(50051);
    expect(c.INGEST_HOST).toBe('127.0.0.1');
    expect(c.NATS_URL).toBeUndefined();
    expect(c.UP_SIMULATE).toBe(true);
  });

  it('lets flags (overrides) win over the environment', () => {
    const c = loadConfig({ INGEST_PORT: '6000', LOG_LEVEL: 'debug' }, { INGEST_PORT: '7000' });
    expect(c.INGEST_PORT).toBe(7000);
    expect(c.LOG_LEVEL).toBe('debug');
  });

  it('refuses bad values, naming every offending variable', () => {
    let err: unknown;
    try {
      loadConfig({
        INGEST_PORT: '70000',
        LOG_LEVEL: 'loud',
        UP_SIMULATE: 'maybe',
        INGEST_MAX_BATCH_EVENTS: '0',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.map((p) => p.split('=')[0]);
    expect(problems.sort()).toEqual(['INGEST_MAX_BATCH_EVENTS', 'INGEST_PORT', 'LOG_LEVEL', 'UP_SIMULATE']);
  });

  it("gives `up`'s nats-server a quarter of the cores (at least one), all of them, or a number", () => {
    expect([1, 2, 3, 4, 8, 16].map((cores) => oneMachineNatsProcs(cores))).toEqual([1, 1, 1, 1, 2, 4]);
    expect(natsProcs(loadConfig({}).UP_NATS_PROCS)).toBe(oneMachineNatsProcs());
    expect(natsProcs(loadConfig({ UP_NATS_PROCS: 'all' }).UP_NATS_PROCS)).toBe('all');
    expect(natsProcs(loadConfig({ UP_NATS_PROCS: '3' }).UP_NATS_PROCS)).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'half']) {
      expect(() => loadConfig({ UP_NATS_PROCS: bad })).toThrow(/UP_NATS_PROCS/);
    }
  });
});
