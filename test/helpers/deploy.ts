// What deploy/ says about each portstream service, read from compose.yaml and the Kubernetes base (files, with
// the kustomization's generated ConfigMap resolved) into one shape, and checked against the code: every variable
// is a setting and parses, every listener the service opens is declared, bound beyond loopback and TLS, every
// probe reaches a port the service serves, every file a setting names is mounted from a secret. Shared by the
// static manifest test and the rehearsal that runs each service with exactly this environment.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig, SETTINGS, type Config } from '../../core/config.js';
import { nearestSetting } from '../../core/config-spelling.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DEPLOY = path.join(ROOT, 'deploy');
/** The long-running services; `migrate` is the admin step run before them (a Job, a one-shot service). */
export const SERVICE_NAMES = ['ingest', 'processor', 'sink', 'api', 'notify'] as const;
export const RUNNABLES = [...SERVICE_NAMES, 'migrate'] as const;
export type ServiceName = (typeof RUNNABLES)[number];

/** A variable's value: literal, or from a secret (Kubernetes Secret key, or a Compose `${VAR}` from .env). */
export type EnvValue = { value: string } | { secret: string; key: string };

export interface Probe {
  /** readiness, liveness, startup (Kubernetes) or healthcheck (Compose). */
  kind: string;
  scheme: 'http' | 'https' | 'grpc' | 'tcp';
  port: number;
  path?: string;
  /** Compose: the healthcheck command as written. */
  command?: string[];
}

export interface ServiceManifest {
  source: 'compose' | 'k8s';
  service: ServiceName;
  env: Record<string, EnvValue>;
  /** Files the container sees, by absolute path: which secret and key they come from. */
  files: Record<string, { secret: string; key: string }>;
  /** Ports the container declares (Kubernetes containerPort; Compose `ports` targets). */
  ports: { name?: string; port: number }[];
  probes: Probe[];
  /** Kubernetes only: enableServiceLinks of the pod. */
  serviceLinks?: boolean;
  /** Kubernetes only: Service targetPort names or numbers pointing at this workload. */
  serviceTargets?: (string | number)[];
}

/** A listener the service opens, derived from its settings (where the code binds it). */
export interface Listener {
  name: 'grpc' | 'http' | 'ops';
  host: string;
  port: number;
  /** The setting that names the port. */
  portSetting: keyof Config;
  hostSetting: keyof Config;
}

/** The listeners each runnable opens (cli/commands/*.ts): its gRPC/HTTP servers and the ops endpoint. */
export function listenersOf(service: ServiceName, c: Config): Listener[] {
  const ops: Listener = {
    name: 'ops',
    host: c.OPS_HTTP_HOST,
    port: c.OPS_HTTP_PORT,
    portSetting: 'OPS_HTTP_PORT',
    hostSetting: 'OPS_HTTP_HOST',
  };
  switch (service) {
    case 'ingest':
      return [
        {
          name: 'grpc',
          host: c.INGEST_HOST,
          port: c.INGEST_PORT,
          portSetting: 'INGEST_PORT',
          hostSetting: 'INGEST_HOST',
        },
        ops,
      ];
    case 'processor':
    case 'sink':
      return [ops];
    case 'migrate':
      return [];
    case 'api':
      return [
        {
          name: 'grpc',
          host: c.API_GRPC_HOST,
          port: c.API_GRPC_PORT,
          portSetting: 'API_GRPC_PORT',
          hostSetting: 'API_GRPC_HOST',
        },
        {
          name: 'http',
          host: c.API_HTTP_HOST,
          port: c.API_HTTP_PORT,
          portSetting: 'API_HTTP_PORT',
          hostSetting: 'API_HTTP_HOST',
        },
        ops,
      ];
    case 'notify':
      return [
        {
          name: 'grpc',
          host: c.NOTIFY_GRPC_HOST,
          port: c.NOTIFY_GRPC_PORT,
          portSetting: 'NOTIFY_GRPC_PORT',
          hostSetting: 'NOTIFY_GRPC_HOST',
        },
        {
          name: 'http',
          host: c.NOTIFY_HTTP_HOST,
          port: c.NOTIFY_HTTP_PORT,
          portSetting: 'NOTIFY_HTTP_PORT',
          hostSetting: 'NOTIFY_HTTP_HOST',
        },
        ops,
      ];
  }
}

function yamlDocs(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8'), { merge: true }).map((d) => d.toJS() as unknown);
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

function serviceOf(args: unknown): ServiceName | undefined {
  const first = arr(args)[0];
  return RUNNABLES.find((s) => s === first);
}

/** `${VAR:?message}` / `${VAR}` in a Compose value: from the .env file. */
function composeValue(v: unknown): EnvValue {
  const s = str(v);
  const m = /^\$\{([A-Z0-9_]+)(?::?[?-][^}]*)?\}$/.exec(s);
  return m ? { secret: '.env', key: m[1] ?? '' } : { value: s };
}

export function composeServices(file = path.join(DEPLOY, 'compose.yaml')): ServiceManifest[] {
  const doc = obj(yamlDocs(file)[0]);
  const secrets = obj(doc.secrets);
  const out: ServiceManifest[] = [];
  for (const raw of Object.values(obj(doc.services))) {
    const s = obj(raw);
    const service = serviceOf(s.command);
    if (service === undefined) continue;
    const env = Object.fromEntries(
      Object.entries(obj(s.environment)).map(([k, v]) => [k, composeValue(v)] as const),
    );
    const files: ServiceManifest['files'] = {};
    for (const name of arr(s.secrets).map(str)) {
      files[`/run/secrets/${name}`] = { secret: name, key: path.basename(str(obj(secrets[name]).file)) };
    }
    const ports = arr(s.ports).map((p) => ({ port: Number(str(p).split(':').at(-1)) }));
    const test = arr(obj(s.healthcheck).test).map(str);
    const probes: Probe[] = [];
    const url = /(https?):\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(test.join(' '));
    if (url) {
      probes.push({
        kind: 'healthcheck',
        scheme: url[1] as 'http' | 'https',
        port: Number(url[2]),
        path: url[3] ?? '',
        command: test,
      });
    } else if (test.length > 0) {
      probes.push({ kind: 'healthcheck', scheme: 'tcp', port: NaN, command: test });
    }
    out.push({ source: 'compose', service, env, files, ports, probes });
  }
  return out;
}

/** The literals of the kustomization's generated ConfigMaps, by name. */
function configMaps(kustomization: string): Map<string, Record<string, string>> {
  const k = obj(yamlDocs(kustomization)[0]);
  const maps = new Map<string, Record<string, string>>();
  for (const g of arr(k.configMapGenerator).map(obj)) {
    const literals = arr(g.literals).map(str);
    maps.set(
      str(g.name),
      Object.fromEntries(literals.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
    );
  }
  return maps;
}

export function k8sServices(base = path.join(DEPLOY, 'k8s/base')): ServiceManifest[] {
  const maps = configMaps(path.join(base, 'kustomization.yaml'));
  const out: ServiceManifest[] = [];
  const objects = RUNNABLES.flatMap((n) => yamlDocs(path.join(base, `${n}.yaml`)).map(obj));
  for (const d of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')) {
    const pod = obj(obj(obj(d.spec).template).spec);
    const volumes = new Map(arr(pod.volumes).map((v) => [str(obj(v).name), obj(v)] as const));
    for (const c of arr(pod.containers).map(obj)) {
      const service = serviceOf(c.args);
      if (service === undefined) continue;
      const env: Record<string, EnvValue> = {};
      for (const from of arr(c.envFrom).map(obj)) {
        const literals = maps.get(str(obj(from.configMapRef).name)) ?? {};
        for (const [k, v] of Object.entries(literals)) env[k] = { value: v };
      }
      for (const e of arr(c.env).map(obj)) {
        const ref = obj(obj(e.valueFrom).secretKeyRef);
        env[str(e.name)] =
          'value' in e ? { value: str(e.value) } : { secret: str(ref.name), key: str(ref.key) };
      }
      const files: ServiceManifest['files'] = {};
      for (const m of arr(c.volumeMounts).map(obj)) {
        const v = volumes.get(str(m.name)) ?? {};
        const sources = v.projected
          ? arr(obj(v.projected).sources).map((s) => obj(obj(s).secret))
          : v.secret
            ? [{ name: obj(v.secret).secretName, items: obj(v.secret).items }]
            : [];
        for (const src of sources) {
          const items = arr(src.items).map(obj);
          if (items.length === 0) files[`${str(m.mountPath)}/*`] = { secret: str(src.name), key: '*' };
          for (const it of items) {
            files[`${str(m.mountPath)}/${str(it.path)}`] = { secret: str(src.name), key: str(it.key) };
          }
        }
      }
      const ports = arr(c.ports).map((p) => ({ name: str(obj(p).name), port: Number(obj(p).containerPort) }));
      const portOf = (p: unknown): number =>
        typeof p === 'number' ? p : (ports.find((x) => x.name === p)?.port ?? NaN);
      const probes: Probe[] = [];
      for (const kind of ['readiness', 'liveness', 'startup']) {
        const p = obj(c[`${kind}Probe`]);
        if (p.httpGet) {
          const h = obj(p.httpGet);
          probes.push({
            kind,
            scheme: str(h.scheme).toLowerCase() === 'https' ? 'https' : 'http',
            port: portOf(h.port),
            path: str(h.path),
          });
        } else if (p.grpc) probes.push({ kind, scheme: 'grpc', port: portOf(obj(p.grpc).port) });
        else if (p.tcpSocket) probes.push({ kind, scheme: 'tcp', port: portOf(obj(p.tcpSocket).port) });
      }
      const labels = obj(obj(obj(d.spec).selector).matchLabels);
      const serviceTargets = objects
        .filter(
          (o) => o.kind === 'Service' && JSON.stringify(obj(o.spec).selector) === JSON.stringify(labels),
        )
        .flatMap((o) => arr(obj(o.spec).ports).map((p) => obj(p).targetPort as string | number));
      out.push({
        source: 'k8s',
        service,
        env,
        files,
        ports,
        probes,
        serviceLinks: pod.enableServiceLinks !== false,
        serviceTargets,
      });
    }
  }
  return out;
}

/** The manifest's environment with every secret replaced by a placeholder, for parsing. */
function withPlaceholders(env: Record<string, EnvValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, 'value' in v ? v.value : 'secret']));
}

/** Whether a file path is provided by the manifest's mounts. */
function mounted(m: ServiceManifest, file: string): boolean {
  return (
    file in m.files ||
    Object.keys(m.files).some((k) => k.endsWith('/*') && path.dirname(file) === k.slice(0, -2))
  );
}

const FILE_SETTINGS = [
  'AUTH_TOKENS_FILE',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'TLS_CLIENT_CA_FILE',
  'NATS_TLS_CA_FILE',
  'NATS_TLS_CERT_FILE',
  'NATS_TLS_KEY_FILE',
  'NATS_CREDS_FILE',
  'CUSTOMS_RULES_FILE',
  'CUSTOMS_SELECTION_SECRET_FILE',
] as const;

/** Everything wrong with one service's manifest, as sentences naming the source, service and variable. */
export function manifestProblems(m: ServiceManifest): string[] {
  const at = `${m.source} ${m.service}`;
  const problems: string[] = [];
  const names = Object.keys(SETTINGS);
  for (const k of Object.keys(m.env)) {
    if (!(k in SETTINGS))
      problems.push(`${at}: ${k} is not a setting (nearest: ${nearestSetting(k, names)})`);
  }
  let config: Config;
  try {
    config = loadConfig(withPlaceholders(m.env));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Unknown names are reported above; parse the known ones for their values.
    const known = Object.fromEntries(Object.entries(withPlaceholders(m.env)).filter(([k]) => k in SETTINGS));
    try {
      config = loadConfig(known);
    } catch (e) {
      return [...problems, ...(e as ConfigError).problems.map((p) => `${at}: ${p}`)];
    }
  }
  const listeners = listenersOf(m.service, config);
  const served = new Map(listeners.map((l) => [l.port, l] as const));
  for (const l of listeners) {
    if (!(l.hostSetting in m.env))
      problems.push(`${at}: ${l.hostSetting} unset: the ${l.name} listener binds loopback`);
    else if (l.host !== '0.0.0.0' && l.host !== '::') {
      problems.push(`${at}: ${l.hostSetting}=${l.host}: the ${l.name} listener is unreachable from outside`);
    }
    if (!(l.portSetting in m.env))
      problems.push(`${at}: ${l.portSetting} unset (a port the manifest relies on)`);
    if (m.source === 'k8s' && !m.ports.some((p) => p.port === l.port)) {
      problems.push(
        `${at}: serves ${l.name} on ${l.port} (${l.portSetting}) but declares no containerPort for it`,
      );
    }
  }
  for (const p of m.ports) {
    if (!served.has(p.port))
      problems.push(`${at}: declares port ${p.port}, which the service does not serve`);
  }
  if (listeners.length > 0 && (config.TLS_CERT_FILE === undefined || config.TLS_KEY_FILE === undefined)) {
    problems.push(`${at}: TLS_CERT_FILE/TLS_KEY_FILE unset: its listeners would serve plaintext`);
  }
  for (const s of FILE_SETTINGS) {
    const file = config[s];
    if (file !== undefined && !mounted(m, file))
      problems.push(`${at}: ${s}=${file} is not mounted from a secret`);
  }
  if (m.probes.length === 0 && listeners.length > 0) problems.push(`${at}: no probe`);
  for (const p of m.probes) {
    const l = served.get(p.port);
    if (l === undefined) {
      problems.push(`${at}: ${p.kind} probe on port ${p.port}, which the service does not serve`);
      continue;
    }
    if (p.scheme === 'grpc' || p.scheme === 'tcp') {
      if (config.TLS_CERT_FILE !== undefined) {
        problems.push(`${at}: ${p.kind} probe speaks ${p.scheme} to a TLS listener; probe the ops endpoint`);
      }
      continue;
    }
    if (l.name !== 'ops' && l.name !== 'http')
      problems.push(`${at}: ${p.kind} probe sends HTTP to ${l.name}`);
    if ((p.scheme === 'https') !== (config.TLS_CERT_FILE !== undefined)) {
      problems.push(
        `${at}: ${p.kind} probe uses ${p.scheme} but the listener is ${config.TLS_CERT_FILE ? 'TLS' : 'plaintext'}`,
      );
    }
    const want = p.kind === 'liveness' || p.kind === 'startup' ? ['/healthz'] : ['/readyz', '/healthz'];
    if (!want.includes(p.path ?? ''))
      problems.push(`${at}: ${p.kind} probe asks for ${p.path ?? ''}; use ${want.join(' or ')}`);
  }
  if (m.serviceLinks === true) {
    problems.push(
      `${at}: enableServiceLinks is not false: Kubernetes would add API_PORT, NATS_SERVICE_HOST, ...`,
    );
  }
  for (const t of m.serviceTargets ?? []) {
    if (!m.ports.some((p) => p.name === t || p.port === t))
      problems.push(`${at}: a Service targets ${t}, which no container port is`);
  }
  return problems;
}
