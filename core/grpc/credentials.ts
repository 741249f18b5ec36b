// gRPC transport security from TLS material: server credentials (TLS, or mutual TLS when a client CA is given)
// and client credentials for the clients the project ships (simulator, benches, tests).
import { readFileSync } from 'node:fs';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { ServerTls } from '../tls/files.js';

export function serverCredentials(tls: ServerTls | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  // With a client CA, grpc-js asks for and verifies the client's certificate and refuses the handshake without one.
  return ServerCredentials.createSsl(
    tls.clientCa ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.clientCa !== undefined,
  );
}

export interface ClientTlsFiles {
  /** CA that signed the server's certificate (unset: the system's roots). */
  caFile?: string | undefined;
  /** Client certificate and key, for servers that require mutual TLS. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** Plaintext when no file is given; TLS otherwise. */
export function clientCredentials(files: ClientTlsFiles): ChannelCredentials {
  const { caFile, certFile, keyFile } = files;
  if (caFile === undefined && certFile === undefined && keyFile === undefined) {
    return credentials.createInsecure();
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new Error('a TLS client certificate needs its key and a key its certificate');
  }
  return credentials.createSsl(
    caFile === undefined ? null : readFileSync(caFile),
    keyFile === undefined ? null : readFileSync(keyFile),
    certFile === undefined ? null : readFileSync(certFile),
  );
}
