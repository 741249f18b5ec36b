// The system under test as it is deployed: each service (`portstream ingest`, `processor`, `sink`) in its own
// OS process, started from the same CLI the bench runs from, so the load generator in the bench process never
// shares an event loop with the code it measures. Readiness is a log line; logs go to files under the run folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

export { freePort } from '../../core/nats/local-cluster.js';

export type ServiceCommand = 'ingest' | 'processor' | 'sink' | 'api';

export interface ServiceOptions {
  command: ServiceCommand;
  /** Name for logs and memory figures, e.g. "gateway". */
  name: string;
  /** Folder for the log file (and the service's data). */
  dir: string;
  env: Record<string, string>;
  /** Message of the log line that says the service is ready. */
  readyMessage: string;
  readyTimeoutMs?: number;
  /**
   * Run in Linux's idle scheduling class (SCHED_IDLE, through chrt(1)): the process gets a core when no process
   * of the normal class wants it, and a normal process that wakes takes the core from it at once. For what may
   * lag and catch up, so that on a saturated machine it never delays what answers callers.
   */
  bestEffort?: boolean;
  /**
   * The built CLI to run under plain node (e.g. dist/cli/portstream.js), for a script that is not the CLI
   * itself. Without it, the CLI this process runs from, with the same loader.
   */
  cli?: string;
}

export class ServiceProcess {
  private exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(o: ServiceOptions): Promise<ServiceProcess> {
    const logFile = path.join(o.dir, `${o.name}.log`);
    const log = createWriteStream(logFile);
    // The CLI this bench runs from (dist/cli/portstream.js, or cli/portstream.ts under tsx) with the same loader.
    const self = process.argv[1] ?? '';
    // Without `cli`, only the CLI itself may start services from itself: any other script would start copies of
    // itself, each starting more.
    if (o.cli === undefined && !/cli[/\\]portstream\.[jt]s$/.test(self)) {
      throw new Error(`${self} is not the portstream CLI: pass the CLI to start ${o.name} from (cli)`);
    }
    // With BENCH_PROFILE_DIR set, each service writes a V8 CPU profile there when it stops (node --cpu-prof).
    const profile = process.env.BENCH_PROFILE_DIR;
    const prof = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
    const node =
      o.cli === undefined
        ? [process.execPath, ...process.execArgv, ...prof, self, o.command]
        : [process.execPath, ...prof, o.cli, o.command];
    // Through chrt(1), which execs node: a scheduling policy is per thread on Linux, and only a process started
    // under it has every thread under it (V8's GC and compiler threads, libuv's pool, an embedded ClickHouse's
    // threads); setting it on the pid after the start reaches the main thread alone.
    const [file, ...args] = o.bestEffort === true ? ['chrt', '--idle', '0', ...node] : node;
    const child = spawn(file as string, args, {
      env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const svc = new ServiceProcess(o.name, child, logFile);
    child.stderr.pipe(log, { end: false });
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${o.name} not ready after ${o.readyTimeoutMs ?? 60_000} ms (see ${logFile})`));
      }, o.readyTimeoutMs ?? 60_000);
      lines.on('line', (line) => {
        log.write(line + '\n');
        if (line.includes(`"msg":"${o.readyMessage}"`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${o.name} exited with ${String(code)} before it was ready (see ${logFile})`));
      });
    });
    try {
      await ready;
    } catch (err) {
      child.kill('SIGKILL');
      // The run folder is removed afterwards: the reason must travel with the error.
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      throw new Error(`${(err as Error).message}\n${tail}`);
    }
    return svc;
  }

  /** SIGTERM (the service's graceful shutdown), then SIGKILL if it takes longer than timeoutMs. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Writes the tokens file the services authenticate the bench's clients with. */
export async function writeTokens(
  file: string,
  tokens: { name: string; role: string; token: string; terminals?: string[]; tax_codes?: string[] }[],
): Promise<void> {
  await writeFile(file, JSON.stringify({ tokens }, null, 2));
}
