// The WebhookService over HTTP/JSON, with the same tokens and answers as over gRPC (the proto3 JSON mapping of
// the same messages):
//   POST   /v1/webhooks                        CreateWebhook (body: CreateWebhookRequest as JSON)
//   GET    /v1/webhooks                        ListWebhooks
//   GET    /v1/webhooks/{id}                   GetWebhook
//   DELETE /v1/webhooks/{id}                   DeleteWebhook
//   POST   /v1/webhooks/{id}/rotate-secret     RotateWebhookSecret
//   POST   /v1/webhooks/{id}/enable            EnableWebhook
//   GET    /v1/webhooks/{id}/deliveries?page_size=&page_token=   ListWebhookDeliveries
// Errors are { "error": { "code", "message", "field"? } } with the matching status, as the tracking API's.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Principal } from '../core/auth/principal.js';
import type { Authenticator } from '../core/auth/tokens.js';
import { ErrorCode, HTTP_STATUS, invalidArgument, PortstreamError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ServerTls } from '../core/tls/files.js';
import {
  CreateWebhookRequest,
  CreateWebhookResponse,
  GetWebhookResponse,
  ListWebhookDeliveriesResponse,
  ListWebhooksResponse,
  RotateWebhookSecretResponse,
  EnableWebhookResponse,
} from '../proto/gen/portstream/v1/notify.js';
import type { Webhooks } from './webhooks.js';

export interface NotifyHttpDeps {
  hooks: Webhooks;
  auth: Authenticator;
  log: Logger;
  bodyLimitBytes: number;
  tls?: ServerTls | undefined;
}

export function buildNotifyHttp(deps: NotifyHttpDeps): FastifyInstance {
  const options = { bodyLimit: deps.bodyLimitBytes, logger: false, forceCloseConnections: 'idle' as const };
  const app: FastifyInstance =
    deps.tls === undefined
      ? Fastify(options)
      : Fastify({
          ...options,
          https: {
            cert: deps.tls.cert,
            key: deps.tls.key,
            ...(deps.tls.clientCa === undefined
              ? {}
              : { ca: deps.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
        });
  app.setErrorHandler((err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof PortstreamError) {
      if (err.code === ErrorCode.Internal || err.code === ErrorCode.Unavailable) {
        deps.log.warn({ err, code: err.code }, 'request failed');
      }
      if (err.code === ErrorCode.Unauthenticated) void reply.header('www-authenticate', 'Bearer');
      return reply.code(HTTP_STATUS[err.code]).send({
        error: {
          code: err.code,
          message: err.message,
          ...(err.field === undefined ? {} : { field: err.field }),
        },
      });
    }
    const sc = typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : 500;
    if (sc >= 400 && sc < 500) {
      return reply.code(sc === 413 ? 413 : 400).send({
        error: {
          code: sc === 413 ? ErrorCode.ResourceExhausted : ErrorCode.InvalidArgument,
          message: sc === 413 ? 'request body too large' : 'malformed request',
        },
      });
    }
    deps.log.error({ err }, 'unexpected error in HTTP handler');
    return reply.code(500).send({ error: { code: ErrorCode.Internal, message: 'internal error' } });
  });
  const who = (req: FastifyRequest): Principal => deps.auth.authenticate(req.headers.authorization);
  const id = (req: FastifyRequest): string => (req.params as { id: string }).id;
  const h = deps.hooks;

  app.post('/v1/webhooks', async (req) => {
    const p = who(req);
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw invalidArgument('body', 'a JSON object (CreateWebhookRequest)');
    }
    let parsed: CreateWebhookRequest;
    try {
      parsed = CreateWebhookRequest.fromJSON(req.body);
    } catch {
      throw invalidArgument('body', 'not a CreateWebhookRequest');
    }
    return CreateWebhookResponse.toJSON(await h.create(p, parsed));
  });
  app.get('/v1/webhooks', (req) =>
    Promise.resolve(ListWebhooksResponse.toJSON({ webhooks: h.list(who(req)) })),
  );
  app.get('/v1/webhooks/:id', async (req) =>
    GetWebhookResponse.toJSON({ webhook: await h.get(who(req), id(req)) }),
  );
  app.delete('/v1/webhooks/:id', async (req) => {
    await h.delete(who(req), id(req));
    return {};
  });
  app.post('/v1/webhooks/:id/rotate-secret', async (req) =>
    RotateWebhookSecretResponse.toJSON(await h.rotate(who(req), id(req))),
  );
  app.post('/v1/webhooks/:id/enable', async (req) =>
    EnableWebhookResponse.toJSON({ webhook: await h.enable(who(req), id(req)) }),
  );
  app.get('/v1/webhooks/:id/deliveries', async (req) => {
    const q = req.query as Record<string, unknown>;
    const size = typeof q.page_size === 'string' ? q.page_size : '0';
    if (!/^\d{1,4}$/.test(size)) throw invalidArgument('page_size', 'an integer 0-500');
    const token = typeof q.page_token === 'string' ? q.page_token : '';
    return ListWebhookDeliveriesResponse.toJSON(
      await h.deliveries(who(req), { webhookId: id(req), pageSize: Number(size), pageToken: token }),
    );
  });
  return app;
}
