// A ClickHouse server for tests: the part of the ClickHouse HTTP interface that @clickhouse/client speaks,
// answered by the real engine (a chDB session on a data folder in this process), on a free port. It stands in
// for a server process: stop() closes the listener and drops every open connection (requests in flight lose
// their reply, as when the process dies; what the engine already committed stays), start() listens again on
// the same port with the data kept. Nothing here computes a result: every statement runs in the engine.
//
// Per request, as the server does: the query is the `query` URL parameter followed by the body (INSERT data),
// or the body alone; `param_<name>` are server-side query parameters (text in the escaped format the client
// writes, bound by the engine); other URL parameters are settings of that query only; `database` is the
// current database; `default_format` is the output format when the SQL has no FORMAT clause.
// Each request runs on its own engine connection, so settings and parameters never leak into another query.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Session } from 'chdb';

export interface ClickHouseHttpOptions {
  /** Data folder (chDB binds one per process: pass the folder other sessions in this process use). */
  dir?: string;
  user?: string;
  password?: string;
}

export interface ClickHouseHttpServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Whether the listener is up. */
  readonly running: boolean;
  /**
   * Statements that succeeded / failed in the engine, INSERTs among the successes, replies that found their
   * connection gone (dropped by stop(): the client never learnt the outcome), and statements running now.
   */
  readonly stats: { ok: number; failed: number; inserts: number; dropped: number; running: number };
  /** Closes the listener and destroys every open connection (requests in flight get no reply). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** stop(), then removes the data folder when this fixture created it. */
  close(): Promise<void>;
}

/** URL parameters that belong to the HTTP layer, not to the query's settings. */
const HTTP_PARAMS = new Set([
  'query',
  'query_id',
  'database',
  'default_format',
  'user',
  'password',
  'quota_key',
  'role',
  'compress',
  'decompress',
  'buffer_size',
  'wait_end_of_query',
  'enable_http_compression',
  'send_progress_in_http_headers',
  'http_zlib_compression_level',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'stacktrace',
]);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A ClickHouse SQL string literal: backslash and quote escaped, so the engine reads back exactly s. */
function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function credentials(req: IncomingMessage, url: URL): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  return {
    user: header('x-clickhouse-user') ?? url.searchParams.get('user') ?? 'default',
    password: header('x-clickhouse-key') ?? url.searchParams.get('password') ?? '',
  };
}

export async function startClickHouseHttp(opts: ClickHouseHttpOptions = {}): Promise<ClickHouseHttpServer> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'portstream-chhttp-')));
  const user = opts.user ?? 'default';
  const password = opts.password ?? '';
  // One session held for the fixture's life: it binds the folder, so per-request sessions open at once.
  const keeper = new Session(dir);
  const sockets = new Set<Socket>();
  const stats = { ok: 0, failed: 0, inserts: 0, dropped: 0, running: 0 };
  let server: Server | undefined;
  let port = 0;

  async function execute(req: IncomingMessage, url: URL): Promise<{ body: Buffer; format: string }> {
    const who = credentials(req, url);
    if (who.user !== user || who.password !== password) {
      throw new HttpFailure(
        403,
        516,
        `Code: 516. DB::Exception: ${who.user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`,
      );
    }
    if (url.searchParams.has('session_id')) {
      throw new HttpFailure(
        400,
        48,
        'Code: 48. DB::Exception: HTTP sessions are not served here. (NOT_IMPLEMENTED)',
      );
    }
    let body = await readBody(req);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const query = url.searchParams.get('query');
    const sql =
      query === null ? body.toString('utf8') : body.length > 0 ? `${query}\n${body.toString('utf8')}` : query;
    if (sql.trim() === '')
      throw new HttpFailure(400, 62, 'Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)');

    const setup: string[] = [];
    for (const [key, value] of url.searchParams) {
      if (HTTP_PARAMS.has(key) || key === 'session_id') continue;
      const name = key;
      if (!NAME.test(name)) {
        throw new HttpFailure(
          400,
          115,
          `Code: 115. DB::Exception: Unknown setting '${name}'. (UNKNOWN_SETTING)`,
        );
      }
      // Parameter values stay in the client's escaped text form: the engine parses them by the declared type.
      setup.push(
        `SET ${name} = ${!name.startsWith('param_') && NUMBER.test(value) ? value : literal(value)}`,
      );
    }
    const database = url.searchParams.get('database');
    if (database !== null) {
      if (!NAME.test(database))
        throw new HttpFailure(
          400,
          81,
          `Code: 81. DB::Exception: Database ${database} does not exist. (UNKNOWN_DATABASE)`,
        );
      setup.push(`USE ${database}`);
    }
    const format = url.searchParams.get('default_format') ?? 'TabSeparated';
    const session = new Session(dir);
    stats.running++;
    try {
      for (const statement of setup) await session.queryAsync(statement);
      const result = await session.queryAsync(sql, { format });
      if (/^\s*INSERT\b/i.test(sql)) stats.inserts++;
      return { body: Buffer.from(result.bytes()), format };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = Number(/Code: (\d+)/.exec(message)?.[1] ?? 1000);
      throw new HttpFailure(500, code, message);
    } finally {
      stats.running--;
      session.close();
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (
      url.pathname === '/ping' ||
      (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))
    ) {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8', 'Keep-Alive': 'timeout=10' });
      res.end('Ok.\n');
      return;
    }
    const queryId = url.searchParams.get('query_id') ?? randomUUID();
    const started = process.hrtime.bigint();
    execute(req, url).then(
      ({ body, format }) => {
        stats.ok++;
        if (res.destroyed) {
          stats.dropped++;
          return;
        }
        const headers: Record<string, string> = {
          'Content-Type': 'text/plain; charset=UTF-8',
          'Keep-Alive': 'timeout=10',
          'X-ClickHouse-Query-Id': queryId,
          'X-ClickHouse-Format': format,
          'X-ClickHouse-Timezone': 'UTC',
          'X-ClickHouse-Summary': JSON.stringify({
            read_rows: '0',
            read_bytes: '0',
            written_rows: '0',
            written_bytes: '0',
            total_rows_to_read: '0',
            result_rows: '0',
            result_bytes: String(body.length),
            elapsed_ns: String(process.hrtime.bigint() - started),
          }),
        };
        const gzip =
          url.searchParams.get('enable_http_compression') === '1' &&
          /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
        if (gzip) headers['Content-Encoding'] = 'gzip';
        res.writeHead(200, headers);
        res.end(gzip ? gzipSync(body) : body);
      },
      (err: unknown) => {
        stats.failed++;
        if (res.destroyed) {
          stats.dropped++;
          return;
        }
        const f = err instanceof HttpFailure ? err : new HttpFailure(500, 1000, String(err));
        res.writeHead(f.status, {
          'Content-Type': 'text/plain; charset=UTF-8',
          'X-ClickHouse-Query-Id': queryId,
          'X-ClickHouse-Exception-Code': String(f.code),
        });
        res.end(`${f.message}\n`);
      },
    );
  }

  async function start(): Promise<void> {
    if (server) return;
    // A ClickHouse server takes URIs up to 1 MiB (http_max_uri_size): query parameters travel in the URL.
    const s = createServer({ maxHeaderSize: 1 << 20 }, handle);
    s.keepAliveTimeout = 10_000;
    s.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    port = addr.port;
    server = s;
  }

  async function stop(): Promise<void> {
    const s = server;
    if (!s) return;
    server = undefined;
    const closed = new Promise<void>((resolve) => {
      s.close(() => {
        resolve();
      });
    });
    for (const socket of sockets) socket.destroy();
    await closed;
  }

  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get running() {
      return server !== undefined;
    },
    stats,
    stop,
    start,
    async close() {
      await stop();
      keeper.close();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
