// A JetStream cluster of local nats-server processes on loopback, for fault tests (kill a node, restart it)
// and for running the system on one machine as it runs on several. Each node is a LocalNatsServer with its
// own store folder under `dir` and a cluster block naming every node's route port.
import { createServer } from 'node:net';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { LocalNatsServer } from './local-server.js';

export interface LocalClusterOptions {
  /** Parent folder: node i stores under `<dir>/n<i>`. */
  dir: string;
  /** Number of nodes (3 gives a quorum that survives one failure). */
  size?: number;
  name?: string;
  host?: string;
  bin?: string;
  /** How long start() and restart() wait for the nodes and the JetStream meta leader. */
  readyTimeoutMs?: number;
}

/** A port nobody listens on right now. The OS could hand it to someone else before the node binds it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * Whether the server at url answers the JetStream API for its account. A node answers only once it knows a
 * meta leader (before that it replies "JetStream system temporarily unavailable"), so a yes from every node
 * means the meta group is formed and every node is in it.
 */
export async function jetStreamReady(url: string, timeoutMs = 1000): Promise<boolean> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, timeout: timeoutMs, reconnect: false });
  } catch {
    return false;
  }
  try {
    const m = await nc.request('$JS.API.INFO', '', { timeout: timeoutMs });
    const body = m.json<{ error?: unknown }>();
    return body.error === undefined;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}

/**
 * Whether the cluster at url can place a stream on `replicas` peers. Every node answering the JetStream API is
 * not enough: the meta leader places a stream only on peers it has heard report in, and right after the cluster
 * forms it may not have heard every one, so a replicated create fails with "no suitable peers for placement".
 * This creates a small in-memory stream with that many replicas and deletes it again.
 */
export async function placementReady(url: string, replicas: number, timeoutMs = 2000): Promise<boolean> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, timeout: timeoutMs, reconnect: false });
  } catch {
    return false;
  }
  const name = `portstream_placement_probe_${process.pid}_${Date.now()}`;
  try {
    const config = { name, subjects: [`${name}.x`], num_replicas: replicas, storage: 'memory' };
    const m = await nc.request(`$JS.API.STREAM.CREATE.${name}`, JSON.stringify(config), {
      timeout: timeoutMs,
    });
    if (m.json<{ error?: unknown }>().error !== undefined) return false;
    await nc.request(`$JS.API.STREAM.DELETE.${name}`, '', { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}

async function until(what: string, deadline: number, probe: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`local NATS cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class LocalNatsCluster {
  private constructor(
    readonly nodes: readonly LocalNatsServer[],
    /** server_name of each node, as streams report their leader and replicas. */
    readonly serverNames: readonly string[],
    private readonly readyTimeoutMs: number,
  ) {}

  static async start(opts: LocalClusterOptions): Promise<LocalNatsCluster> {
    const size = opts.size ?? 3;
    const host = opts.host ?? '127.0.0.1';
    const name = opts.name ?? 'portstream';
    const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
    // Route ports are fixed for the cluster's life: a restarted node must come back where its peers look.
    const routePorts: number[] = [];
    for (let i = 0; i < size; i++) routePorts.push(await freePort(host));
    const routes = routePorts.map((p) => `nats-route://${host}:${p}`).join(', ');
    const nodes = await Promise.all(
      routePorts.map((routePort, i) =>
        LocalNatsServer.start({
          storeDir: path.join(opts.dir, `n${i}`),
          port: 0,
          host,
          serverName: `${name}-n${i}`,
          ...(opts.bin === undefined ? {} : { bin: opts.bin }),
          extraConfig: [
            `cluster {`,
            `  name: ${name}`,
            `  listen: "${host}:${routePort}"`,
            `  routes: [${routes}]`,
            // Explicit routes are retried forever; this makes routes learned from peers retry too (once a second).
            `  connect_retries: 120`,
            `}`,
          ].join('\n'),
        }),
      ),
    );
    const cluster = new LocalNatsCluster(
      nodes,
      nodes.map((_, i) => `${name}-n${i}`),
      readyTimeoutMs,
    );
    try {
      await cluster.waitReady();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Every node's client URL. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** Every node's client URL, comma-separated (what NATS_URL takes); clients fail over between them. */
  get url(): string {
    return this.urls.join(',');
  }

  /** Index of the node whose server_name is `serverName` (as in a stream's cluster.leader), or -1. */
  indexOf(serverName: string): number {
    return this.serverNames.indexOf(serverName);
  }

  private node(i: number): LocalNatsServer {
    const n = this.nodes[i];
    if (!n) throw new RangeError(`no node ${i} in a cluster of ${this.nodes.length}`);
    return n;
  }

  /**
   * Waits until every running node answers the JetStream API (meta leader elected, all peers joined) and, with
   * every node running, until a stream can be placed on all of them.
   */
  async waitReady(timeoutMs = this.readyTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const running = this.nodes.filter((x) => x.running);
    for (const n of running) {
      await until(`JetStream on ${n.url}`, deadline, () => jetStreamReady(n.url));
    }
    const first = running[0];
    if (first && running.length === this.nodes.length) {
      await until(`placement on ${running.length} peers`, deadline, () =>
        placementReady(first.url, running.length),
      );
    }
  }

  /** SIGKILL node i, as a crash or power loss of that machine would. */
  async kill(i: number): Promise<void> {
    await this.node(i).kill();
  }

  /** Starts node i again on its ports and store, and waits until it has rejoined JetStream. */
  async restart(i: number): Promise<void> {
    const n = this.node(i);
    await n.restart();
    await until(`JetStream on restarted ${n.url}`, Date.now() + this.readyTimeoutMs, () =>
      jetStreamReady(n.url),
    );
  }

  /** Stops every node (SIGTERM), in parallel. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
