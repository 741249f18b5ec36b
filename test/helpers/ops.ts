// Probing a service's ops endpoint (/healthz, /readyz, /metrics) over HTTP or HTTPS, as a kubelet or a scraper
// would: one request, status and body, no retries.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ServiceProcess } from './service-process.js';

export const OPS_LISTENING = 'ops endpoint listening (/healthz, /readyz, /metrics)';

export interface ProbeAnswer {
  status: number;
  body: string;
}

/** GET url; over https the server certificate is checked against ca (a kubelet skips the check). */
export function probe(url: string, opts: { ca?: Buffer; timeoutMs?: number } = {}): Promise<ProbeAnswer> {
  const https = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', timeout: opts.timeoutMs ?? 5000, ...(https && opts.ca ? { ca: opts.ca } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** The ops endpoint URL a service process logged at start-up. */
export async function opsUrl(svc: ServiceProcess, timeoutMs = 60_000): Promise<string> {
  const line = await svc.logLine(OPS_LISTENING, timeoutMs);
  if (typeof line.url !== 'string') throw new Error(`no url in ${JSON.stringify(line)}`);
  return line.url;
}

/** The value of one Prometheus sample (name plus exact label text, e.g. `{channel="GREEN"}`), or undefined. */
export function sample(metrics: string, name: string, labels = ''): number | undefined {
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}${labels} `)) return Number(line.slice(name.length + labels.length + 1));
  }
  return undefined;
}
