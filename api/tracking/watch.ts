// The WatchContainer loop shared by gRPC and HTTP (server-sent events): the current status, then one message per
// change from a KV watch on the container's key. The sender is awaited before the next change is read, so a
// slow client holds one message, not a growing queue. The caller's AbortSignal ends it at any moment, also
// while the watch is still being set up: its server consumer is deleted, not left to expire.
import type { Principal } from '../../core/auth/principal.js';
import { containerNumberOf } from './reads.js';
import type { ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { containerView, visibleContainer } from './access.js';
import type { TrackingStore } from './store.js';

/**
 * Throws NOT_FOUND (before anything is sent) when the container does not exist or the caller may not see it.
 * Then calls send for each status until the signal aborts or the container leaves the caller's view; the
 * returned promise resolves when the watch is over and its consumer deleted. Handlers create the signal and
 * hook it to their cancel/close event before calling, so a client leaving at once is not missed.
 */
export async function watchContainer(
  p: Principal,
  containerNumber: string,
  store: TrackingStore,
  send: (s: ContainerStatus) => Promise<void>,
  signal: AbortSignal,
): Promise<{ done: Promise<void> }> {
  containerNumberOf(containerNumber);
  const ended = { done: Promise.resolve() };
  // A function, not the property: the signal changes across the awaits below, which narrowing does not see.
  const aborted = (): boolean => signal.aborted;
  if (aborted()) return ended;
  // Watch first, then check: a change between the two is not lost (the watch replays the latest value).
  const w = await store.watchContainer(containerNumber);
  const stop = (): void => void w.stop();
  signal.addEventListener('abort', stop, { once: true });
  // Aborted while the watch was being set up: the listener above does not fire for a past abort.
  if (aborted()) {
    signal.removeEventListener('abort', stop);
    await w.stop();
    return ended;
  }
  try {
    await visibleContainer(p, containerNumber, store);
  } catch (err) {
    signal.removeEventListener('abort', stop);
    await w.stop();
    throw err;
  }
  const loop = async (): Promise<void> => {
    try {
      for await (const rec of w.updates) {
        if (aborted()) break;
        // Re-checked on each change: a container moving to another terminal, or the caller's shipment ending,
        // ends what this caller may see.
        const view = await containerView(p, rec, store);
        if (!view || aborted()) break;
        await send(view.status);
      }
    } finally {
      signal.removeEventListener('abort', stop);
      await w.stop();
    }
  };
  return { done: loop() };
}
