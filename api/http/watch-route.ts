// WatchContainer over HTTP as server-sent events: one `data:` line per status (the proto3 JSON of
// WatchContainerResponse), a comment line every 15 s so proxies keep the connection, and every open stream
// ended at shutdown (preClose), so closing the server does not wait for clients to hang up.
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../core/auth/tokens.js';
import { WatchContainerResponse } from '../../proto/gen/portstream/v1/tracking.js';
import type { TrackingStore } from '../tracking/store.js';
import { watchContainer } from '../tracking/watch.js';

export const WATCH_PATH = '/v1/containers/{container_number}/watch';
const KEEPALIVE_MS = 15_000;

export function registerWatchRoute(app: FastifyInstance, auth: Authenticator, store: TrackingStore): void {
  const open = new Set<AbortController>();
  app.addHook('preClose', (done) => {
    for (const ac of open) ac.abort();
    done();
  });
  app.get<{ Params: { container_number: string } }>(
    '/v1/containers/:container_number/watch',
    async (req, reply) => {
      const p = auth.authenticate(req.headers.authorization);
      const raw = reply.raw;
      // Hooked before anything is awaited: a client that hangs up at once still ends the watch (and deletes
      // its server consumer). The response's 'close' fires when the connection goes (the stream never finishes).
      const ac = new AbortController();
      const abort = (): void => {
        ac.abort();
      };
      raw.once('close', abort);
      // Gone before this handler ran: 'close' was already emitted.
      if (raw.closed || raw.destroyed || req.raw.socket.destroyed) ac.abort();
      open.add(ac);
      let keepalive: NodeJS.Timeout | undefined;
      try {
        // Errors before the first byte (NOT_FOUND, UNAUTHENTICATED) go through the normal error handler.
        const w = await watchContainer(
          p,
          req.params.container_number,
          store,
          async (status) => {
            if (!raw.headersSent) {
              raw.writeHead(200, {
                'content-type': 'text/event-stream',
                'cache-control': 'no-store',
                connection: 'keep-alive',
              });
            }
            const line = `data: ${JSON.stringify(WatchContainerResponse.toJSON({ status }))}\n\n`;
            if (!raw.write(line)) {
              await new Promise<void>((resolve) => {
                const done = (): void => {
                  raw.off('drain', done);
                  raw.off('close', done);
                  resolve();
                };
                raw.once('drain', done);
                raw.once('close', done);
              });
            }
          },
          ac.signal,
        );
        reply.hijack();
        if (!ac.signal.aborted) keepalive = setInterval(() => raw.write(': keep-alive\n\n'), KEEPALIVE_MS);
        await w.done;
        raw.end();
      } finally {
        clearInterval(keepalive);
        raw.off('close', abort);
        open.delete(ac);
      }
    },
  );
}
