// Same-run baseline for the status scenario: a bare grpc-js server with one unary method that answers every
// call with the same bytes (an encoded ContainerStatus of the scenario's size), no auth and no reads. The load
// generator calls it exactly as it calls GetContainerStatus, so the ratio isolates what the API adds.
import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';

export const UNARY_PATH = '/bench.Unary/Get';

const identity = (b: Buffer): Buffer => b;

/** Raw bytes in and out: neither side pays for protobuf, so this is grpc-js and the loopback alone. */
export const unaryDefinition: ServiceDefinition = {
  get: {
    path: UNARY_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export interface UnaryServer {
  address: string;
  stop(): void;
}

export async function startUnaryServer(answer: Uint8Array): Promise<UnaryServer> {
  const server = new Server();
  const reply = Buffer.from(answer);
  server.addService(unaryDefinition, {
    get: (_call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      cb(null, reply);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => {
      if (e) reject(e);
      else resolve(p);
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    stop: () => {
      server.forceShutdown();
    },
  };
}
