// Consumer lag: messages a durable consumer has not yet acked (pending delivery plus delivered but unacked). The
// bench waits for every consumer of a stream to reach zero after load stops, and reports how long that took.
import type { JetStreamManager } from '@nats-io/jetstream';

export interface LagProbe {
  stream: string;
  consumer: string;
}

export async function lagOf(jsm: JetStreamManager, p: LagProbe): Promise<number> {
  const info = await jsm.consumers.info(p.stream, p.consumer);
  return info.num_pending + info.num_ack_pending;
}

/** Total lag of the consumers now. */
export async function totalLag(jsm: JetStreamManager, probes: readonly LagProbe[]): Promise<number> {
  let sum = 0;
  for (const p of probes) sum += await lagOf(jsm, p);
  return sum;
}

/**
 * Polls until each consumer's lag is zero or the deadline passes; resolves with the milliseconds each took
 * (undefined: still behind at the deadline) and the lag left.
 */
export async function waitCaughtUp(
  jsm: JetStreamManager,
  probes: readonly LagProbe[],
  timeoutMs: number,
  onPoll?: (lag: number) => void,
): Promise<{ ms: Map<string, number | undefined>; lagLeft: number }> {
  const start = performance.now();
  const ms = new Map<string, number | undefined>();
  let remaining = [...probes];
  let lagLeft = 0;
  for (;;) {
    lagLeft = 0;
    const behind: LagProbe[] = [];
    for (const p of remaining) {
      const lag = await lagOf(jsm, p);
      if (lag === 0) ms.set(p.consumer, performance.now() - start);
      else {
        behind.push(p);
        lagLeft += lag;
      }
    }
    remaining = behind;
    onPoll?.(lagLeft);
    if (remaining.length === 0 || performance.now() - start > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const p of remaining) ms.set(p.consumer, undefined);
  return { ms, lagLeft };
}
