// The nats-server `up` and the bench start runs with the processors it is given (GOMAXPROCS), as the server
// itself reports them on its monitoring endpoint; unset, it keeps Go's default of every core.
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../core/nats/local-cluster.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

/** Starts a server with a monitoring port and reads the GOMAXPROCS it reports. */
async function startAndRead(
  start: (monitor: string) => Promise<TestNats>,
): Promise<{ nats: TestNats; procs: number }> {
  const monitor = `127.0.0.1:${await freePort()}`;
  const nats = await start(monitor);
  const body = (await (await fetch(`http://${monitor}/varz`)).json()) as { gomaxprocs: number };
  return { nats, procs: body.gomaxprocs };
}

describe('local nats-server processors', () => {
  let started: TestNats | undefined;
  afterEach(async () => {
    await started?.cleanup();
    started = undefined;
  });

  it('starts the server with the GOMAXPROCS it is given', async () => {
    const { nats, procs } = await startAndRead((monitor) => startTestNats(`http: "${monitor}"`, 1));
    started = nats;
    expect(nats.server.procs).toBe(1);
    expect(procs).toBe(1);
  });

  it("leaves Go's default, every core, when given none or 'all'", async () => {
    const { nats, procs } = await startAndRead((monitor) => startTestNats(`http: "${monitor}"`, 'all'));
    started = nats;
    expect(procs).toBe(
      process.env.GOMAXPROCS === undefined ? os.availableParallelism() : Number(process.env.GOMAXPROCS),
    );
  });
});
