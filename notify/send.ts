// One POST of a webhook delivery: JSON body, the Standard Webhooks headers, a deadline, no redirects (a 3xx is a
// failure like any other non-2xx), TLS verified against the system CAs (never turned off), and the connection
// made only to addresses the target policy allows (targets.ts). The answer's body is read and dropped (at most
// 64 KiB), so a subscriber cannot make the service hold its memory.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import {
  guardedLookup,
  hostOf,
  isNonPublicAddress,
  TargetRefusedError,
  type TargetPolicy,
} from './targets.js';

export interface SendResult {
  /** 2xx */
  ok: boolean;
  /** Not sent: the endpoint is not a public address. */
  refused: boolean;
  /** 0 when there was no answer. */
  statusCode: number;
  error: string;
  durationMs: number;
}

const MAX_ANSWER_BYTES = 64 * 1024;

export async function postWebhook(
  url: URL,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; policy: TargetPolicy },
): Promise<SendResult> {
  const started = Date.now();
  const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({
    ...r,
    durationMs: Date.now() - started,
  });
  const host = hostOf(url);
  // A literal address never goes through lookup: check it here.
  if (!opts.policy.allowPrivate && isIP(host) !== 0 && isNonPublicAddress(host)) {
    return done({ ok: false, refused: true, statusCode: 0, error: `${host} is not a public address` });
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'portstream-notify',
        },
        lookup: guardedLookup(opts.policy),
        // No connection reuse across deliveries: each one resolves and checks its target afresh.
        agent: false,
      },
      (res: IncomingMessage) => {
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_ANSWER_BYTES) res.destroy();
        });
        const status = res.statusCode ?? 0;
        const answer = (): void => {
          finish({
            ok: status >= 200 && status < 300,
            refused: false,
            statusCode: status,
            error: status >= 200 && status < 300 ? '' : `HTTP ${status}`,
          });
        };
        res.on('end', answer);
        res.on('close', answer);
        res.on('error', answer);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    req.on('error', (err: Error) => {
      const refused = err instanceof TargetRefusedError;
      finish({ ok: false, refused, statusCode: 0, error: err.message.slice(0, 300) });
    });
    req.end(body);
  });
}
