// The HTTP side of the API (fastify): the JSON read routes behind bearer tokens, /openapi.json, the
// Prometheus /metrics of the whole process (the registry is shared with the other services), liveness and
// readiness, and the dashboard's static files. Bodies are capped: these are read routes, nothing big comes in.
import fastifyStatic from '@fastify/static';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import type { Authenticator } from '../../core/auth/tokens.js';
import { ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ServerTls } from '../../core/tls/files.js';
import { DASHBOARD_DIR, UPLOT_DIR } from '../dashboard/assets.js';
import type { TrackingReads } from '../tracking/reads.js';
import type { TrackingStore } from '../tracking/store.js';
import { errorBody, errorHandler } from './errors.js';
import { openApiDocument } from './openapi.js';
import type { Query } from './params.js';
import { fastifyPath, ROUTES } from './routes.js';
import { registerWatchRoute } from './watch-route.js';

export interface HttpServerDeps {
  reads: TrackingReads;
  /** For the server-sent-events watch. */
  store: TrackingStore;
  auth: Authenticator;
  registry: Registry;
  log: Logger;
  /** Largest request body accepted (413 above it). */
  bodyLimitBytes: number;
  /** HTTPS (mutual TLS when it has a client CA); unset: plain HTTP. */
  tls?: ServerTls | undefined;
  /** Whether the backing stores answer (for /readyz). */
  ready(): Promise<boolean>;
  version?: string;
}

export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const tls = deps.tls;
  const options = {
    bodyLimit: deps.bodyLimitBytes,
    // The process logger is pino already; fastify's per-request lines would double it under load.
    logger: false,
    // Long-lived keep-alive connections must not hold shutdown open for minutes.
    forceCloseConnections: 'idle' as const,
    return503OnClosing: true,
    // The router's own refusals (a bad percent-encoding, a path parameter over maxParamLength) bypass the
    // error handler: answer them with the same JSON error body, without echoing the (possibly huge) path.
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
      const status = err.statusCode !== undefined && err.statusCode < 500 ? err.statusCode : 400;
      const what =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'not a valid URL';
      void reply.code(status).send(errorBody(ErrorCode.InvalidArgument, `path: ${what}`, 'path'));
    },
  };
  const app: FastifyInstance =
    tls === undefined
      ? Fastify(options)
      : Fastify({
          ...options,
          https: {
            cert: tls.cert,
            key: tls.key,
            // Mutual TLS: the handshake fails unless the client presents a certificate the CA signed.
            ...(tls.clientCa === undefined
              ? {}
              : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
        });
  const duration = new Histogram({
    name: 'portstream_api_http_request_duration_seconds',
    help: 'HTTP request duration of the tracking API, by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [deps.registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    duration.observe(
      { route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });
  // No route takes a body, so fastify never reads one and its bodyLimit never fires: refuse any request that
  // announces a body over the limit here, whatever its method or route, before it is read.
  app.addHook('onRequest', async (req, reply) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > deps.bodyLimitBytes) {
      return reply.code(413).send(errorBody(ErrorCode.ResourceExhausted, 'request body too large'));
    }
  });
  app.setErrorHandler(errorHandler(deps.log));
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(errorBody(ErrorCode.NotFound, `no route ${req.method} ${req.url.split('?')[0] ?? ''}`)),
  );

  for (const r of ROUTES) {
    app.get(fastifyPath(r.path), async (req) => {
      const p = deps.auth.authenticate(req.headers.authorization);
      return r.handle(deps.reads, p, req.params as Record<string, string>, req.query as Query);
    });
  }

  registerWatchRoute(app, deps.auth, deps.store);

  const doc = openApiDocument(deps.version ?? '1');
  app.get('/openapi.json', () => Promise.resolve(doc));
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = await deps.ready().catch(() => false);
    if (!ok)
      return reply.code(503).send(errorBody(ErrorCode.Unavailable, 'a backing store is not answering'));
    return { status: 'ready' };
  });

  // The dashboard holds no data: it is public; every JSON call it makes carries the user's token.
  await app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: '/dashboard/' });
  await app.register(fastifyStatic, { root: UPLOT_DIR, prefix: '/vendor/uplot/', decorateReply: false });
  app.get('/', async (_req, reply) => reply.redirect('/dashboard/'));
  return app;
}
