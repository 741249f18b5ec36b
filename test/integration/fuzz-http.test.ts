// Hostile input to the HTTP API: every path and query parameter of every route in /openapi.json gets injection
// attempts (SQL quotes, ClickHouse {name:Type} placeholders, NATS wildcards, unicode, huge values, bad percent
// encodings), every route and the static dashboard get path traversal (encoded ../, %2e%2e, null bytes), and
// the server gets malformed JSON and oversized bodies. Never a 5xx, every 4xx is the JSON error body, no file
// outside the static folders is served, and the server still answers afterwards. FUZZ_SEED=<n> replays a run.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../../test-kit/auth.js';
import { fuzzSeed, Rng } from '../helpers/fuzz.js';
import { MINE, MY_DECL, seed, startApiFixture, type ApiFixture } from './api-fixture.js';

const SEED = fuzzSeed();
const BODY_LIMIT = 4096; // API_MAX_BODY_BYTES of the fixture

interface Reply {
  status: number;
  body: string;
}

let fx: ApiFixture;
let base: URL;

beforeAll(async () => {
  fx = await startApiFixture();
  await seed(fx);
  base = new URL(fx.api.httpUrl);
}, 60_000);

afterAll(async () => {
  await fx.close();
});

/** A raw request: the path goes out byte for byte (no URL normalisation, unlike fetch). */
function raw(
  method: string,
  path: string,
  opts: { token?: string; body?: Buffer; contentType?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(opts.body.length);
    }
    const req = request(
      { host: base.hostname, port: base.port, method, path, headers, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        // An SSE watch that did start is not an error: take what came and hang up.
        if (res.headers['content-type']?.startsWith('text/event-stream') === true) {
          res.once('data', () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body: '' });
          });
        }
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

const failures: string[] = [];
const counts = new Map<string, number>();

/** The rules every answer obeys. */
function check(what: string, route: string, r: Reply): void {
  counts.set(route, (counts.get(route) ?? 0) + 1);
  if (r.status >= 500) failures.push(`${what}: ${r.status} ${r.body.slice(0, 200)}`);
  if (r.status >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      body = undefined;
    }
    const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (typeof e?.code !== 'string' || typeof e.message !== 'string') {
      failures.push(`${what}: ${r.status} without the JSON error body: ${r.body.slice(0, 200)}`);
    }
  }
  for (const secret of OUTSIDE_FILES) {
    if (r.body.includes(secret)) failures.push(`${what}: served a file outside the static folders`);
  }
}

/** Text only found in files outside the static folders (repo root, source tree, uPlot's package, /etc). */
const OUTSIDE_FILES = ['"name": "portstream"', 'root:x:0:0', 'function staticDir()', '"name": "uplot"'];

const INJECTIONS = [
  "'",
  "''; DROP TABLE events; --",
  "' OR '1'='1",
  '" OR 1=1 --',
  '1; SELECT * FROM system.users',
  '{container:String}',
  "{t:DateTime64(3, 'UTC')}",
  '{limit:UInt32}',
  '${process.env}',
  '*',
  '>',
  'a.b.>',
  '\u0000',
  'Ω≈ç√∫',
  '😀'.repeat(50),
  '\u202e\u200b',
  ' ',
  '-1',
  '1e400',
  '0x10',
  '99999999999999999999',
  'NaN',
  '__proto__',
  '2026-13-45T25:61:61Z',
  '+275760-09-13T00:00:00.000Z',
  '9999-12-31T23:00:00Z',
  '1800-01-01T00:00:00Z',
  'A'.repeat(2000),
];

/** Inserted as they are (already percent-encoded, or deliberately malformed). */
const RAW_VALUES = [
  '%00',
  'x%00y',
  '%ff%fe',
  '%ED%A0%80',
  '%',
  '%zz',
  '%25',
  '..%2f..%2f..%2fpackage.json',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%252f..%252fpackage.json',
  '%c0%ae%c0%ae%2f',
  '..\\..\\package.json',
];

const TRAVERSALS = [
  '../package.json',
  '../../package.json',
  '../../../package.json',
  '../../../../../../../../etc/passwd',
  '..%2f..%2f..%2fpackage.json',
  '%2e%2e/%2e%2e/%2e%2e/package.json',
  '%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
  '..%252f..%252fpackage.json',
  '....//....//package.json',
  '..%5c..%5c..%5cpackage.json',
  '..\\..\\..\\package.json',
  '%2e%2e/assets.ts',
  '../assets.ts',
  'index.html%00.js',
  '%00',
  '.%00./package.json',
  '%c0%ae%c0%ae/%c0%ae%c0%ae/package.json',
  '/etc/passwd',
  '//etc/passwd',
];

interface OpenApi {
  paths: Record<string, { get?: { parameters?: { name: string; in: string }[] } }>;
}

/** A value each parameter accepts, so a request fails only for the parameter under attack. */
function defaults(): Record<string, string> {
  const now = Date.now();
  return {
    container_number: MINE,
    visit_id: 'VNHPH-HICT-9811000-1234W',
    declaration_number: MY_DECL,
    start_time: new Date(now - 7_200_000).toISOString(),
    end_time: new Date(now).toISOString(),
    bucket_seconds: '3600',
    page_size: '10',
  };
}

function build(path: string, params: { name: string; in: string }[], target: string, value: string): string {
  const d = defaults();
  const fill = (name: string): string => (name === target ? value : encodeURIComponent(d[name] ?? 'x'));
  const p = path.replace(/\{([a-z_]+)\}/g, (_m, name: string) => fill(name));
  const q = params
    .filter((x) => x.in === 'query' && (x.name === target || d[x.name] !== undefined))
    .map((x) => `${x.name}=${fill(x.name)}`)
    .join('&');
  return q === '' ? p : `${p}?${q}`;
}

describe('HTTP API under hostile input', () => {
  it(`never answers 5xx, always the JSON error body, serves nothing outside static (seed ${SEED})`, async () => {
    const rng = new Rng(SEED);
    const doc = JSON.parse((await raw('GET', '/openapi.json')).body) as OpenApi;
    const routes = Object.entries(doc.paths);
    expect(routes.length).toBeGreaterThanOrEqual(8);
    const jobs: (() => Promise<void>)[] = [];
    const add = (what: string, route: string, run: () => Promise<Reply>): void => {
      jobs.push(async () => {
        check(what, route, await run());
      });
    };

    for (const [path, item] of routes) {
      const params = [
        ...[...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({ name: m[1] as string, in: 'path' })),
        ...(item.get?.parameters ?? []).filter((x) => x.in === 'query'),
      ];
      for (const p of params) {
        const values = [
          ...INJECTIONS.map((v) => encodeURIComponent(v)),
          ...RAW_VALUES,
          encodeURIComponent('A'.repeat(4000 + rng.int(4000))),
        ];
        for (const v of values) {
          const url = build(path, params, p.name, v);
          add(`GET ${url.slice(0, 120)}`, path, () => raw('GET', url, { token: TOKENS.admin }));
        }
        // The same parameter given twice, and as an array.
        if (p.in === 'query') {
          const url = `${build(path, params, p.name, '1')}&${p.name}=2&${p.name}[]=3`;
          add(`GET ${url}`, path, () => raw('GET', url, { token: TOKENS.admin }));
        }
      }
      // Narrow time ranges beyond what the analytics store can hold.
      if (params.some((x) => x.name === 'start_time')) {
        for (const [from, to] of [
          ['9999-12-31T00:00:00Z', '9999-12-31T01:00:00Z'],
          ['1800-01-01T00:00:00Z', '1800-01-01T01:00:00Z'],
          ['2106-02-07T06:00:00Z', '2106-02-07T07:00:00Z'],
        ]) {
          const url = `${path}?start_time=${from}&end_time=${to}&bucket_seconds=3600`;
          add(`GET ${url}`, path, () => raw('GET', url, { token: TOKENS.admin }));
        }
      }
      // Traversal in place of the whole path tail, and after it.
      for (const t of TRAVERSALS) {
        const url = `${build(path, params, '', '')}/${t}`.replace('?', `/${t}?`);
        add(`GET ${url}`, path, () => raw('GET', url, { token: TOKENS.admin }));
      }
      // Callers without a valid token, and methods the route does not have, with malformed JSON.
      const ok = build(path, params, '', '');
      add(`GET ${ok} (no token)`, path, () => raw('GET', ok));
      add(`GET ${ok} (bad token)`, path, () => raw('GET', ok, { token: "x' OR '1'='1" }));
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        add(`${method} ${ok} malformed JSON`, path, () =>
          raw(method, ok, { token: TOKENS.admin, body: Buffer.from('{"a": [1, 2,, }') }),
        );
      }
      add(`GET ${ok} with a malformed JSON body`, path, () =>
        raw('GET', ok, { token: TOKENS.admin, body: Buffer.from('{"container_number": "') }),
      );
    }

    // The static folders: the dashboard, uPlot, and the root.
    for (const prefix of ['/dashboard/', '/vendor/uplot/', '/', '/dashboard/%2e%2e/']) {
      for (const t of TRAVERSALS) {
        add(`GET ${prefix}${t}`, `static ${prefix}`, () => raw('GET', `${prefix}${t}`));
      }
    }

    // Bodies: malformed JSON, wrong types, and bodies over the limit to any path.
    const huge = Buffer.alloc(BODY_LIMIT * 4 + rng.int(BODY_LIMIT), 0x61);
    const bodies: [string, Buffer, string][] = [
      ['malformed JSON', Buffer.from('{"a":'), 'application/json'],
      ['JSON null', Buffer.from('null'), 'application/json'],
      ['deep JSON', Buffer.from('['.repeat(BODY_LIMIT - 10)), 'application/json'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'application/json'],
      ['huge JSON', Buffer.concat([Buffer.from('{"a":"'), huge, Buffer.from('"}')]), 'application/json'],
      ['huge text', huge, 'text/plain'],
      ['huge form', huge, 'application/x-www-form-urlencoded'],
    ];
    const targets = [...routes.map(([p]) => p.replace(/\{[a-z_]+\}/g, 'X')), '/healthz', '/metrics', '/'];
    for (const [name, body, type] of bodies) {
      for (const t of targets) {
        for (const method of ['POST', 'PUT', 'GET']) {
          add(`${method} ${t} ${name}`, 'bodies', async () => {
            const r = await raw(method, t, { token: TOKENS.admin, body, contentType: type });
            if (body.length > BODY_LIMIT && r.status !== 413) {
              failures.push(`${method} ${t} ${name}: ${r.status}, want 413`);
            }
            return r;
          });
        }
      }
    }

    // A few at a time, as a busy client would.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
      }),
    );
    process.stderr.write(`fuzz-http seed ${SEED}: ${JSON.stringify(Object.fromEntries(counts), null, 1)}\n`);
    expect(failures).toEqual([]);
    expect(jobs.length).toBeGreaterThan(500);

    // Still serving.
    expect((await raw('GET', '/healthz')).status).toBe(200);
    const mine = await raw('GET', `/v1/containers/${MINE}`, { token: TOKENS.admin });
    expect(mine.status).toBe(200);
    expect(JSON.parse(mine.body)).toMatchObject({ status: { containerNumber: MINE } });
    expect((await raw('GET', '/dashboard/index.html')).status).toBe(200);
  }, 120_000);

  it('refuses a body over the limit with 413 and the JSON error body', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await raw(method, '/v1/vessel-visits', {
        token: TOKENS.admin,
        body: Buffer.alloc(BODY_LIMIT + 1, 0x61),
        contentType: 'application/json',
      });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toEqual({
        error: { code: 'RESOURCE_EXHAUSTED', message: 'request body too large' },
      });
    }
  });
});
