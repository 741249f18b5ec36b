// The OpenAPI 3 document served at /openapi.json, built from the route table. Response bodies are the proto3
// JSON mapping of the named portstream.v1 messages (tracking.proto is their full description); errors share
// one schema.
import { ErrorCode } from '../../core/errors.js';
import { ROUTES, type ParamDoc } from './routes.js';
import { WATCH_PATH } from './watch-route.js';

const ERROR_RESPONSES: Record<string, string> = {
  '400': 'INVALID_ARGUMENT: a bad parameter, named in error.field',
  '401': 'UNAUTHENTICATED: missing or unknown bearer token',
  '403': 'PERMISSION_DENIED: the role may not call this',
  '404': 'NOT_FOUND: does not exist, or the caller may not see it',
  '503': 'UNAVAILABLE: a backing store is down; retry',
};

function parameter(p: ParamDoc): object {
  const base = { type: p.type ?? 'string' };
  return {
    name: p.name,
    in: p.in,
    required: p.required ?? false,
    description: p.description,
    schema: p.array ? { type: 'array', items: base } : base,
    ...(p.array ? { style: 'form', explode: true } : {}),
  };
}

export function openApiDocument(version: string): object {
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = {
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', enum: Object.values(ErrorCode) },
            message: { type: 'string' },
            field: {
              type: 'string',
              description: 'path of the offending parameter (snake_case, as in the proto)',
            },
          },
        },
      },
    },
  };
  for (const r of ROUTES) {
    schemas[r.response] = {
      type: 'object',
      description: `proto3 JSON of portstream.v1.${r.response} (proto/portstream/v1/tracking.proto)`,
      additionalProperties: true,
    };
    const errors = Object.fromEntries(
      Object.entries(ERROR_RESPONSES).map(([code, description]) => [
        code,
        { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      ]),
    );
    paths[r.path] = {
      get: {
        operationId: r.operationId,
        summary: r.summary,
        parameters: r.params.map(parameter),
        responses: {
          '200': {
            description: 'OK',
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${r.response}` } } },
          },
          ...errors,
        },
      },
    };
  }
  paths[WATCH_PATH] = {
    get: {
      operationId: 'WatchContainer',
      summary: "A container's status now and after every change, as server-sent events",
      parameters: [{ name: 'container_number', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': {
          description: 'one `data:` line per status: proto3 JSON of portstream.v1.WatchContainerResponse',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        '401': { description: ERROR_RESPONSES['401'] },
        '404': { description: ERROR_RESPONSES['404'] },
      },
    },
  };
  return {
    openapi: '3.0.3',
    info: {
      title: 'portstream tracking API',
      version,
      description:
        "Container status and history, the caller's containers and declarations, vessel visits, clearance decisions and port metrics.",
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas,
    },
  };
}
