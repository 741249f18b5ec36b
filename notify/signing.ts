// Signing per the Standard Webhooks convention (standardwebhooks, the reference library): a secret
// "whsec_<base64 of 32 random bytes>" per webhook; each delivery carries webhook-id, webhook-timestamp (Unix
// seconds) and webhook-signature, "v1,<base64 HMAC-SHA256 of id.timestamp.body>". After a rotation the header
// holds one signature per secret still valid, space-separated, so a receiver holding either secret verifies
// the delivery: it can switch over at any time within the overlap.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signedHeaders(
  secrets: readonly string[],
  messageId: string,
  at: Date,
  body: string,
): SignedHeaders {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(messageId, at, body)).join(' '),
  };
}
