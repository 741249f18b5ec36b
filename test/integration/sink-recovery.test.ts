// Recovery in seconds: the sink as its own OS process with its production ack_wait and lease length, SIGKILLed
// while it holds messages it has not acked, then started again under load. The new process takes the dead
// one's lease once it expires and gets the messages it held at once (their ack_wait has passed by then: the
// dead process no longer renews them), rather than a minute later; and every acked event and command is in
// ClickHouse exactly once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { STREAM_CUSTOMS, STREAM_EVENTS } from '../../core/nats/topology.js';
import { SINK_CONSUMER } from '../../sink/index.js';
import { startLoad } from '../helpers/jetstream-load.js';
import { notExactlyOnce, rowsPerKey, total } from '../helpers/pipeline-counts.js';
import { uniqueName, waitFor } from '../../test-kit/poll.js';
import { spawnService, waitForLog, type ServiceProcess } from '../helpers/services.js';
import { allAcked, startNats, type NatsFixture } from './sink-fixture.js';

const SINK_STARTED = '"msg":"clickhouse sink started"';

describe('sink process killed holding a batch', () => {
  let n: NatsFixture;
  let dataDir: string;
  const database = uniqueName('ps');
  const running: ServiceProcess[] = [];
  // The settings as deployed: only where to find NATS and ClickHouse.
  const defaults = loadConfig({});
  const spawnSink = async (): Promise<ServiceProcess> => {
    const s = spawnService('sink', {
      NATS_URL: n.nats.url,
      PORTSTREAM_DATA_DIR: dataDir,
      CLICKHOUSE_DATABASE: database,
    });
    running.push(s);
    await waitForLog(s, SINK_STARTED);
    return s;
  };

  beforeAll(async () => {
    n = await startNats();
    dataDir = await mkdtemp(path.join(tmpdir(), 'portstream-recovery-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((s) => s.kill()));
    await n.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes within seconds of the restart, and writes everything once', { timeout: 300_000 }, async () => {
    const jsm = await jetstreamManager(n.nc);
    let sink = await spawnSink();
    const load = startLoad(n.js, {
      prefix: 'rc',
      eventsPerBatch: 20,
      containers: 100_000,
      intervalMs: 50,
      declarationBase: 400_000_000_000,
    });

    // The sink holds messages it has not acked, after having written some.
    await waitFor(
      async () => {
        const c = await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER);
        return c.ack_floor.stream_seq >= 20 && c.num_ack_pending > 0;
      },
      { timeoutMs: 60_000, intervalMs: 5, what: 'the sink in the middle of a batch' },
    );
    await sink.kill();
    const atKill = await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER);
    // What the killed sink had been given: written or not, none of it acked beyond the floor.
    const heldUpTo = atKill.delivered.stream_seq;
    expect(atKill.ack_floor.stream_seq).toBeLessThan(heldUpTo);

    sink = await spawnSink();
    const restarted = Date.now();
    // The restarted sink waits out the dead one's lease (SINK_LEASE_TTL_MS), then writes what it held at once:
    // before, it waited another ack_wait (60 s) for those messages.
    const bound = defaults.SINK_LEASE_TTL_MS + 5000;
    await waitFor(
      async () => (await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER)).ack_floor.stream_seq >= heldUpTo,
      {
        timeoutMs: bound,
        intervalMs: 50,
        what: `the killed sink's messages written within ${bound} ms of the restart (${sink.output().slice(-2000)})`,
      },
    );
    const resumedMs = Date.now() - restarted;

    const afterRestart = load.batches;
    await waitFor(() => load.batches >= afterRestart + 20, { timeoutMs: 30_000, what: 'load after restart' });
    await load.stop();
    await waitFor(
      async () =>
        (await allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER)) &&
        (await allAcked(n.nc, STREAM_CUSTOMS, SINK_CONSUMER)),
      { timeoutMs: 60_000, what: 'the sink to catch up' },
    );
    expect(await sink.stop()).toBe(0);

    const events = [...load.ackedEvents];
    const declarations = [...load.ackedDeclarations];
    const ch = createClickHouse(
      {
        CLICKHOUSE_USER: 'default',
        CLICKHOUSE_DATABASE: database,
        CLICKHOUSE_REQUEST_TIMEOUT_MS: 5000,
        PORTSTREAM_DATA_DIR: dataDir,
      },
      silentLogger(),
    );
    try {
      const rows = await rowsPerKey(ch, 'events', 'event_id');
      expect(notExactlyOnce(events, rows)).toEqual([]);
      expect(total(rows)).toBe(events.length);
      const commandRows = await rowsPerKey(ch, 'declarations', 'declaration_number');
      expect(notExactlyOnce(declarations, commandRows)).toEqual([]);
      expect(total(commandRows)).toBe(declarations.length);
    } finally {
      await ch.close();
    }
    console.info(
      `sink recovery: killed holding seqs ${atKill.ack_floor.stream_seq + 1}..${heldUpTo} ` +
        `(${atKill.num_ack_pending} unacked); written ${resumedMs} ms after the restart; ` +
        `${events.length} events, ${declarations.length} declarations, each once`,
    );
  });
});
