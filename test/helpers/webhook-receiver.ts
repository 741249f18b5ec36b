// A real HTTP server on a free port that plays webhook subscribers: each path is one subscriber whose behaviour
// the test sets (answer 2xx, fail with a status, fail the first n times) and whose requests it keeps.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered. */
  answered: number;
}

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'fail'; status: number }
  | { kind: 'failFirst'; n: number }
  /** Keeps each request open, unanswered (answered 0), until release(). */
  | { kind: 'hold' };

export interface WebhookReceiver {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request to the path, in arrival order (failed ones included). */
  received(path: string): Received[];
  /** Only the requests answered 2xx. */
  accepted(path: string): Received[];
  behave(path: string, b: Behaviour): void;
  /** Answers the held requests of the path (204; a sender gone meanwhile gets nothing). */
  release(path: string): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const got = new Map<string, Received[]>();
  const behaviour = new Map<string, Behaviour>();
  const held = new Map<string, (() => void)[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const list = got.get(path) ?? [];
      got.set(path, list);
      const b = behaviour.get(path) ?? { kind: 'ok' };
      if (b.kind === 'hold') {
        list.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: 0 });
        held.set(path, [...(held.get(path) ?? []), () => res.writeHead(204).end()]);
        return;
      }
      const status =
        b.kind === 'ok'
          ? 204
          : b.kind === 'fail'
            ? b.status
            : list.filter((r) => r.answered >= 400).length < b.n
              ? 500
              : 204;
      list.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: (p) => got.get(p) ?? [],
    accepted: (p) => (got.get(p) ?? []).filter((r) => r.answered >= 200 && r.answered < 300),
    behave: (p, b) => behaviour.set(p, b),
    release: (p) => {
      for (const answer of held.get(p) ?? []) answer();
      held.delete(p);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
