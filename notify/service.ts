// The WebhookService gRPC handlers: authenticate, call Webhooks, map errors at the edge (core/grpc/status.ts).
import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Principal } from '../core/auth/principal.js';
import type { Authenticator } from '../core/auth/tokens.js';
import { principalOf } from '../core/grpc/auth.js';
import type { ServiceRegistration } from '../core/grpc/server.js';
import { unaryHandler } from '../core/grpc/unary.js';
import type { Logger } from '../core/logger.js';
import { WebhookServiceService } from '../proto/gen/portstream/v1/notify.js';
import type { Webhooks } from './webhooks.js';

export function createWebhookService(auth: Authenticator, hooks: Webhooks, log: Logger): ServiceRegistration {
  const h = <Req, Res>(fn: (p: Principal, req: Req) => Promise<Res>) =>
    unaryHandler<Req, Res>(log, (call: ServerUnaryCall<Req, Res>) =>
      Promise.resolve().then(() => fn(principalOf(auth, call.metadata), call.request)),
    );
  const implementation: UntypedServiceImplementation = {
    createWebhook: h((p, req: Parameters<Webhooks['create']>[1]) => hooks.create(p, req)),
    getWebhook: h(async (p, req: { id: string }) => ({ webhook: await hooks.get(p, req.id) })),
    listWebhooks: h((p) => Promise.resolve({ webhooks: hooks.list(p) })),
    deleteWebhook: h(async (p, req: { id: string }) => {
      await hooks.delete(p, req.id);
      return {};
    }),
    rotateWebhookSecret: h((p, req: { id: string }) => hooks.rotate(p, req.id)),
    enableWebhook: h(async (p, req: { id: string }) => ({ webhook: await hooks.enable(p, req.id) })),
    listWebhookDeliveries: h((p, req: Parameters<Webhooks['deliveries']>[1]) => hooks.deliveries(p, req)),
  };
  return {
    name: 'portstream.v1.WebhookService',
    definition: WebhookServiceService,
    implementation,
  };
}
