// A grpc.health.v1 client built from the proto grpc-health-check ships, and a generic client maker for other
// protos tools use (reflection).
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  status,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** A dynamic client of `service` (its package path) from a .proto file. */
export function clientFor(protoFile: string, includeDir: string, service: string[], address: string): Client {
  const pkg = loadPackageDefinition(
    loadSync(protoFile, { includeDirs: [includeDir], keepCase: true, enums: String }),
  );
  let node: unknown = pkg;
  for (const part of service) node = (node as GrpcObject)[part];
  const Ctor = node as ServiceClientConstructor;
  return new Ctor(address, credentials.createInsecure());
}

export interface HealthProbe {
  /** The serving status of a service ('' for the server), or rejects with the call's error. */
  check(service: string): Promise<string>;
  /** The gRPC status code of a Check call (OK when the service is known). */
  code(service: string): Promise<status>;
  close(): void;
}

export function grpcHealth(address: string): HealthProbe {
  const healthDir = path.dirname(require.resolve('grpc-health-check/package.json'));
  const client = clientFor(
    path.join(healthDir, 'proto/health/v1/health.proto'),
    healthDir,
    ['grpc', 'health', 'v1', 'Health'],
    address,
  );
  const call = (service: string): Promise<{ status: string }> =>
    new Promise((resolve, reject) => {
      (
        client as unknown as Record<
          string,
          (req: object, cb: (e: ServiceError | null, r: { status: string }) => void) => void
        >
      ).Check?.({ service }, (e, r) => {
        if (e) reject(e);
        else resolve(r);
      });
    });
  return {
    check: async (service) => (await call(service)).status,
    code: (service) =>
      call(service).then(
        () => status.OK,
        (e: unknown) => (e as ServiceError).code,
      ),
    close: () => {
      client.close();
    },
  };
}
