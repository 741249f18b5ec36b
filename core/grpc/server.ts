// Builds a grpc-js server with what every portstream gRPC endpoint has: health checking (grpc.health.v1),
// server reflection listing exactly the services this server serves (descriptors from the set that
// `npm run generate` writes, plus the health and reflection protos the libraries ship), message size limits and
// keepalive settings, TLS or mutual TLS when given certificates, undecodable requests answered INVALID_ARGUMENT
// (not INTERNAL), and a graceful shutdown.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../logger.js';
import type { ServerTls } from '../tls/files.js';
import { serverCredentials } from './credentials.js';
import { rejectMalformed, tolerantDefinition } from './malformed.js';

export interface ServiceRegistration {
  /** Fully-qualified service name, e.g. "portstream.v1.IngestService", for health status. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  maxReceiveMessageBytes: number;
  /** Unset: plaintext. */
  tls?: ServerTls | undefined;
}

export interface RunningGrpcServer {
  server: Server;
  port: number;
  address: string;
  health: HealthImplementation;
  /** Stops accepting calls, waits for in-flight ones up to timeoutMs, then cancels the rest. */
  shutdown(timeoutMs: number): Promise<void>;
}

const DESCRIPTOR_PATH = fileURLToPath(new URL('../../proto/gen/portstream.binpb', import.meta.url));

/** Services every server adds beside its own (health checking and both reflection versions). */
const STANDARD_SERVICES = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/** The .proto files of health checking and reflection, as the two libraries ship them. */
function standardDescriptors(): ReturnType<typeof loadSync> {
  const require = createRequire(import.meta.url);
  const health = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto');
  const reflect = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
  return loadSync(
    [
      'health/v1/health.proto',
      'grpc/reflection/v1/reflection.proto',
      'grpc/reflection/v1alpha/reflection.proto',
    ],
    { includeDirs: [health, reflect] },
  );
}

/** Reflection over the given services only: a client is never offered methods this port answers UNIMPLEMENTED. */
function reflection(services: readonly string[]): ReflectionService {
  // From dist/core/grpc the descriptor is two levels further up; try both layouts.
  let buf: Buffer;
  try {
    buf = readFileSync(DESCRIPTOR_PATH);
  } catch {
    buf = readFileSync(fileURLToPath(new URL('../../../proto/gen/portstream.binpb', import.meta.url)));
  }
  return new ReflectionService(
    { ...standardDescriptors(), ...loadFileDescriptorSetFromBuffer(buf) },
    { services: [...STANDARD_SERVICES, ...services] },
  );
}

export async function startGrpcServer(
  opts: GrpcServerOptions,
  services: readonly ServiceRegistration[],
  log: Logger,
): Promise<RunningGrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': opts.maxReceiveMessageBytes,
    'grpc.max_send_message_length': opts.maxReceiveMessageBytes,
    // Detect dead peers within ~30 s instead of the default hours; accept client pings every 10 s at most.
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_concurrent_streams': 1000,
    // Channelz (call and socket statistics for a channelz service) costs every call bookkeeping and listeners;
    // no channelz service is registered, so nothing would ever read them.
    'grpc.enable_channelz': 0,
    interceptors: [rejectMalformed],
  });
  const health = new HealthImplementation({ '': 'SERVING' });
  health.addToServer(server);
  reflection(services.map((s) => s.name)).addToServer(server);
  for (const s of services) {
    server.addService(tolerantDefinition(s.definition), s.implementation);
    health.setStatus(s.name, 'SERVING');
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.port}`, serverCredentials(opts.tls), (err, boundPort) => {
      if (err) reject(err);
      else resolve(boundPort);
    });
  });
  const address = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  const security = opts.tls === undefined ? 'plaintext' : opts.tls.clientCa ? 'mutual TLS' : 'TLS';
  log.info({ address, security, services: services.map((s) => s.name) }, 'gRPC server listening');
  return {
    server,
    port,
    address,
    health,
    shutdown: async (timeoutMs) => {
      health.setStatus('', 'NOT_SERVING');
      for (const s of services) health.setStatus(s.name, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log.warn({ timeoutMs }, 'gRPC calls still running at shutdown timeout; cancelling them');
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
