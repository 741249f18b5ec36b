// A frozen nats-server answers nothing from the moment freeze() resolves: the stall tests rely on it. SIGSTOP
// alone does not give that, since each thread stops only when it next runs.
import { readdirSync, readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../core/nats/connect.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

/** The state letter of each thread of the process (R running, S sleeping, T stopped, ...). */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  });
}

describe('freezing a local nats-server', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'freeze-test' });
  });
  afterAll(async () => {
    nats.server.thaw();
    await nc.close();
    await nats.cleanup();
  });

  it('resolves with every thread stopped; the server answers nothing until thawed', async () => {
    const pid = nats.server.pid as number;
    // Keep the server's threads busy with a client's requests while it is frozen, as the stall tests do.
    const inFlight = Array.from({ length: 50 }, () => nc.flush().then(() => 'answered'));
    await nats.server.freeze();
    try {
      const states = threadStates(pid);
      expect(states.length).toBeGreaterThan(1);
      expect(states.every((s) => s === 'T')).toBe(true);
      const stalled = await Promise.race([
        nc.flush().then(() => 'answered'),
        new Promise((resolve) => setTimeout(resolve, 300, 'no answer')),
      ]);
      expect(stalled).toBe('no answer');
    } finally {
      nats.server.thaw();
    }
    // Thawed, it answers again, the requests made while it was frozen too.
    expect(await Promise.all(inFlight)).toEqual(inFlight.map(() => 'answered'));
    await nc.flush();
  });
});
