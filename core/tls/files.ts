// TLS material from files named by configuration: the servers' certificate and key (with the CA that signs
// client certificates, for mutual TLS) and the NATS client's CA, certificate and key. Every file is read and
// checked at start-up, so a missing, unreadable or non-PEM file (or a key that does not match its certificate)
// stops the process with a ConfigError naming the variable, instead of failing at the first handshake.
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ConfigError, type Config } from '../config.js';

/** What the gRPC and HTTPS servers need. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** Set: clients must present a certificate this CA signed (mutual TLS). */
  clientCa?: Buffer;
}

/** What a NATS connection needs (PEM text, as nats.js takes it). */
export interface NatsTls {
  ca?: string;
  cert?: string;
  key?: string;
}

type Files = { readonly [name: string]: string | undefined };

function read(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([`${variable}=${JSON.stringify(file)}: cannot read the file (${code})`]);
  }
}

function certificate(variable: string, file: string): Buffer {
  const pem = read(variable, file);
  try {
    // Parses the first certificate of the chain; enough to tell a certificate file from anything else.
    new X509Certificate(pem);
  } catch {
    throw new ConfigError([`${variable}=${JSON.stringify(file)}: not a PEM certificate`]);
  }
  return pem;
}

function privateKey(variable: string, file: string): Buffer {
  const pem = read(variable, file);
  try {
    createPrivateKey(pem);
  } catch {
    // The message never includes the file's content.
    throw new ConfigError([`${variable}=${JSON.stringify(file)}: not a PEM private key`]);
  }
  return pem;
}

function requirePair(files: Files, certVar: string, keyVar: string): void {
  if ((files[certVar] === undefined) !== (files[keyVar] === undefined)) {
    const missing = files[certVar] === undefined ? certVar : keyVar;
    throw new ConfigError([
      `${missing}: must be set together with ${missing === certVar ? keyVar : certVar}`,
    ]);
  }
}

function checkMatches(certVar: string, cert: Buffer, key: Buffer): void {
  try {
    createSecureContext({ cert, key });
  } catch {
    throw new ConfigError([`${certVar}: the certificate does not match its private key`]);
  }
}

/** The servers' TLS material, or undefined for plaintext (TLS_CERT_FILE unset). */
export function serverTlsFromConfig(
  c: Pick<Config, 'TLS_CERT_FILE' | 'TLS_KEY_FILE' | 'TLS_CLIENT_CA_FILE'>,
): ServerTls | undefined {
  requirePair(c, 'TLS_CERT_FILE', 'TLS_KEY_FILE');
  if (c.TLS_CERT_FILE === undefined || c.TLS_KEY_FILE === undefined) {
    if (c.TLS_CLIENT_CA_FILE !== undefined) {
      throw new ConfigError(['TLS_CLIENT_CA_FILE: mutual TLS needs TLS_CERT_FILE and TLS_KEY_FILE too']);
    }
    return undefined;
  }
  const cert = certificate('TLS_CERT_FILE', c.TLS_CERT_FILE);
  const key = privateKey('TLS_KEY_FILE', c.TLS_KEY_FILE);
  checkMatches('TLS_CERT_FILE', cert, key);
  return {
    cert,
    key,
    ...(c.TLS_CLIENT_CA_FILE === undefined
      ? {}
      : { clientCa: certificate('TLS_CLIENT_CA_FILE', c.TLS_CLIENT_CA_FILE) }),
  };
}

/** NATS client TLS, or undefined when none of NATS_TLS_* is set (plain, or TLS only if the server asks). */
export function natsTlsFromConfig(
  c: Pick<Config, 'NATS_TLS_CA_FILE' | 'NATS_TLS_CERT_FILE' | 'NATS_TLS_KEY_FILE'>,
): NatsTls | undefined {
  requirePair(c, 'NATS_TLS_CERT_FILE', 'NATS_TLS_KEY_FILE');
  const out: NatsTls = {};
  if (c.NATS_TLS_CA_FILE !== undefined) {
    out.ca = certificate('NATS_TLS_CA_FILE', c.NATS_TLS_CA_FILE).toString('utf8');
  }
  if (c.NATS_TLS_CERT_FILE !== undefined && c.NATS_TLS_KEY_FILE !== undefined) {
    const cert = certificate('NATS_TLS_CERT_FILE', c.NATS_TLS_CERT_FILE);
    const key = privateKey('NATS_TLS_KEY_FILE', c.NATS_TLS_KEY_FILE);
    checkMatches('NATS_TLS_CERT_FILE', cert, key);
    out.cert = cert.toString('utf8');
    out.key = key.toString('utf8');
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
