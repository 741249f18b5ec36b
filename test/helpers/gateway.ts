// An ingest gateway on its own nats-server, with a client that authenticates as a terminal operator.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { loadConfig, type Config, type Env } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import {
  IngestServiceClient,
  type PublishEventsResponse,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { startTestNats, type TestNats } from './nats.js';

export interface GatewayFixture {
  nats: TestNats;
  nc: NatsConnection;
  config: Config;
  ingest: IngestHandle;
  /** Authenticated as the HICT terminal operator. */
  client: IngestServiceClient;
  /** A gateway (another process, as far as clients can tell) on the same NATS. */
  startAnother: () => Promise<IngestHandle>;
  close: () => Promise<void>;
}

export async function startGateway(name: string, env: Env = {}): Promise<GatewayFixture> {
  const nats = await startTestNats();
  const nc = await connectNats({ url: nats.url, name });
  const config = loadConfig({ INGEST_PORT: '0', ...env });
  const start = (): Promise<IngestHandle> =>
    startIngest({ config, log: silentLogger(), nc, registry: new Registry(), auth: testAuth });
  const f: GatewayFixture = {
    nats,
    nc,
    config,
    ingest: await start(),
    client: undefined as unknown as IngestServiceClient,
    startAnother: start,
    close: async () => {
      f.client.close();
      await f.ingest.stop();
      await nc.close();
      await nats.cleanup();
    },
  };
  f.client = clientAs(IngestServiceClient, f.ingest.address, TOKENS.operator);
  return f;
}

export function publish(client: IngestServiceClient, events: Event[]): Promise<PublishEventsResponse> {
  return new Promise((resolve, reject) => {
    client.publishEvents({ events }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => {
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/** Streams the batches over one call and collects every answer (in order) and the final status. */
export async function streamBatches(
  client: IngestServiceClient,
  batches: Event[][],
): Promise<{ responses: StreamEventsResponse[]; error?: ServiceError }> {
  const call = client.streamEvents();
  const responses: StreamEventsResponse[] = [];
  call.on('data', (r: StreamEventsResponse) => responses.push(r));
  const finished = new Promise<ServiceError | undefined>((resolve) => {
    call.on('error', (e: ServiceError) => {
      resolve(e);
    });
    call.on('end', () => {
      resolve(undefined);
    });
  });
  batches.forEach((events, i) => call.write({ batchId: `b${i}`, events }));
  call.end();
  const error = await finished;
  return error ? { responses, error } : { responses };
}
