// One request of the status scenario per target kind, as the load generator sends it: GetContainerStatus over
// gRPC, GET /v1/containers/{number} over HTTP (keep-alive), or the bare unary baseline. Each reports success
// through `done` so the caller can time it from its scheduled start.
import { Agent, request } from 'node:http';
import { credentials, makeGenericClientConstructor, Metadata, type Client } from '@grpc/grpc-js';
import { TrackingServiceClient } from '../../proto/gen/portstream/v1/tracking.js';
import { unaryDefinition } from './unary-baseline.js';

export type StatusMode = 'grpc' | 'http' | 'grpc-unary-baseline';
/** `why` says what failed (gRPC status, HTTP status, socket error) when ok is false. */
export type Caller = (containerNumber: string, done: (ok: boolean, why?: string) => void) => void;

const DEADLINE_MS = 5000;

/**
 * A caller whose connection is up: requests queued behind a channel that is still connecting would otherwise
 * all leave at once when it is ready and count its set-up as their latency.
 */
export async function caller(mode: StatusMode, target: string, token: string): Promise<Caller> {
  switch (mode) {
    case 'grpc': {
      const client = new TrackingServiceClient(target, credentials.createInsecure());
      await ready(client);
      return grpcCaller(client, token);
    }
    case 'http':
      return httpCaller(target, token);
    case 'grpc-unary-baseline': {
      const Client = makeGenericClientConstructor(unaryDefinition, 'Unary');
      const client = new Client(target, credentials.createInsecure());
      await ready(client);
      return unaryCaller(client);
    }
  }
}

function ready(client: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + 30_000, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

function grpcCaller(client: TrackingServiceClient, token: string): Caller {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return (n, done) => {
    client.getContainerStatus({ containerNumber: n }, md, { deadline: Date.now() + DEADLINE_MS }, (err) => {
      if (err) done(false, err.message);
      else done(true);
    });
  };
}

function unaryCaller(generic: Client): Caller {
  const client = generic as unknown as {
    get(
      req: Buffer,
      md: Metadata,
      opts: { deadline: number },
      cb: (err: Error | null, res?: Buffer) => void,
    ): void;
  };
  const md = new Metadata();
  return (n, done) => {
    client.get(Buffer.from(n), md, { deadline: Date.now() + DEADLINE_MS }, (err) => {
      if (err) done(false, err.message);
      else done(true);
    });
  };
}

function httpCaller(target: string, token: string): Caller {
  const url = new URL(target);
  // Enough sockets that a slow answer never makes later requests queue in the client (open model).
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  return (n, done) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `/v1/containers/${n}`,
        headers: { authorization: `Bearer ${token}` },
        timeout: DEADLINE_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) done(true);
          else done(false, `HTTP ${String(res.statusCode)}`);
        });
      },
    );
    req.on('timeout', () => {
      req.destroy();
    });
    req.on('error', (e) => {
      done(false, e.message);
    });
    req.end();
  };
}
