// Creating a replicated stream (or a KV bucket, which is one) right after a cluster starts can fail with "no
// suitable peers for placement": the meta leader answers the JetStream API before it has heard from every peer.
// Services starting together with their NATS cluster (a deployment coming up, a test cluster) would then exit at
// start-up. The creation is retried while that is the answer, up to a deadline; past it, or on any other error,
// the error is the caller's (a cluster with too few servers for the replicas asked for still fails, loudly).
import { JetStreamApiError } from '@nats-io/jetstream';

/** nats-server's JSClusterNoPeersErr: "no suitable peers for placement". */
export const NO_SUITABLE_PEERS = 10005;

export interface PlacementWait {
  /** How long to keep retrying (default 15 s). */
  timeoutMs?: number;
  /** Between attempts (default 250 ms). */
  intervalMs?: number;
}

export async function whilePlacing<T>(create: () => Promise<T>, o: PlacementWait = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  for (;;) {
    try {
      return await create();
    } catch (err) {
      const placing = err instanceof JetStreamApiError && err.code === NO_SUITABLE_PEERS;
      if (!placing || Date.now() >= deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 250));
  }
}
