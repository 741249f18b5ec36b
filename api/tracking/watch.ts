// The WatchContainer loop shared by gRPC and HTTP (server-sent events): the current status, then one message per
// change from a KV watch on the container's key. The sender is awaited before the next change is read, so a
// slow client holds one message, not a growing queue.
import type { Principal } from '../../core/auth/principal.js';
import { containerNumberOf } from './reads.js';
import type { ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { containerView, visibleContainer } from './access.js';
import type { TrackingStore } from './store.js';

export interface WatchHandle {
  /** Resolves when the watch ended (stop(), the container left the caller's view, or an error). */
  done: Promise<void>;
  stop(): void;
}

/**
 * Throws NOT_FOUND (before anything is sent) when the container does not exist or the caller may not see it.
 * Then calls send for each status until stop() or until the container leaves the caller's view.
 */
export async function watchContainer(
  p: Principal,
  containerNumber: string,
  store: TrackingStore,
  send: (s: ContainerStatus) => Promise<void>,
): Promise<WatchHandle> {
  containerNumberOf(containerNumber);
  // Watch first, then check: a change between the two is not lost (the watch replays the latest value).
  const w = await store.watchContainer(containerNumber);
  try {
    await visibleContainer(p, containerNumber, store);
  } catch (err) {
    w.stop();
    throw err;
  }
  let stopped = false;
  const loop = async (): Promise<void> => {
    try {
      for await (const rec of w.updates) {
        if (stopped) break;
        // Re-checked on each change: a container moving to another terminal, or the caller's shipment ending,
        // ends what this caller may see.
        const view = await containerView(p, rec, store);
        if (!view) break;
        await send(view.status);
      }
    } finally {
      w.stop();
    }
  };
  return {
    done: loop(),
    stop: () => {
      stopped = true;
      w.stop();
    },
  };
}
