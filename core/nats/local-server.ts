// Starts and stops a local nats-server process with JetStream: used by `portstream up` when no NATS answers,
// and by the integration tests (a server per suite, on a free port, with its own store).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface LocalNatsOptions {
  /** JetStream store folder (created if missing). */
  storeDir: string;
  /** 0 or undefined: a free port chosen by the server. */
  port?: number;
  host?: string;
  bin?: string;
  /** Extra lines for the server's config file (e.g. cluster or accounts blocks). */
  extraConfig?: string;
  serverName?: string;
  startTimeoutMs?: number;
  /** Environment added to this process's for the server (e.g. GODEBUG for the bench's collector trace). */
  env?: Record<string, string>;
  /** Go's GOMAXPROCS for the server; unset or 'all': Go's default, every core. */
  procs?: number | 'all';
  /** Called with each line the server writes to stderr after it is ready (its log, a GODEBUG trace). */
  onStderrLine?: (line: string) => void;
}

/**
 * Whether every thread of the process is in the stopped state ('T' in /proc/<pid>/task/<tid>/stat). Where there
 * is no /proc (not Linux), true: nothing better can be known there.
 */
async function allThreadsStopped(pid: number): Promise<boolean> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  for (const tid of tids) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state follows the command name, which is in parentheses and may itself hold ')'.
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'T') return false;
    } catch {
      // A thread that ended between the listing and the read is not running.
    }
  }
  return true;
}

function procsEnv(procs: number | 'all' | undefined): Record<string, string> {
  return procs === undefined || procs === 'all' ? {} : { GOMAXPROCS: String(procs) };
}

export class LocalNatsServer {
  private proc: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private log = '';
  port: number;
  readonly host: string;

  private constructor(private readonly opts: LocalNatsOptions) {
    this.port = opts.port ?? 0;
    this.host = opts.host ?? '127.0.0.1';
  }

  static async start(opts: LocalNatsOptions): Promise<LocalNatsServer> {
    const server = new LocalNatsServer(opts);
    await server.launch();
    return server;
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The GOMAXPROCS the server was started with ('all': Go's default). */
  get procs(): number | 'all' {
    return this.opts.procs ?? 'all';
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The server's log output so far (for diagnosing test failures). */
  get output(): string {
    return this.log;
  }

  private async launch(): Promise<void> {
    await mkdir(this.opts.storeDir, { recursive: true });
    const confPath = path.join(this.opts.storeDir, 'nats-server.conf');
    const lines = [
      `listen: "${this.host}:${this.port === 0 ? -1 : this.port}"`,
      this.opts.serverName ? `server_name: "${this.opts.serverName}"` : '',
      `max_payload: 8MB`,
      `jetstream { store_dir: ${JSON.stringify(path.resolve(this.opts.storeDir))} }`,
      this.opts.extraConfig ?? '',
    ];
    await writeFile(confPath, lines.filter(Boolean).join('\n') + '\n');
    this.log = '';
    // Own process group: a Ctrl-C in the terminal reaches only the parent, which stops the server last, after
    // its clients have drained. If the parent dies first, the exit hook still takes the server down.
    const proc = spawn(this.opts.bin ?? 'nats-server', ['-c', confPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...this.opts.env, ...procsEnv(this.opts.procs) },
    });
    this.proc = proc;
    const killOnExit = (): void => {
      proc.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code) => {
        resolve(code);
      }),
    );
    const timeoutMs = this.opts.startTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        done(new Error(`nats-server did not become ready in ${timeoutMs} ms:\n${this.log}`));
      }, timeoutMs);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        proc.stderr.off('data', onData);
        proc.stdout.off('data', onData);
        proc.off('error', onError);
        proc.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const onData = (chunk: Buffer): void => {
        this.log += chunk.toString();
        const m = /Listening for client connections on [^\s]*:(\d+)/.exec(this.log);
        if (m?.[1]) this.port = Number(m[1]);
        if (this.log.includes('Server is ready')) done();
      };
      const onError = (err: Error): void => {
        done(new Error(`cannot start nats-server (${this.opts.bin ?? 'nats-server'}): ${err.message}`));
      };
      const onExit = (code: number | null): void => {
        done(new Error(`nats-server exited with ${code}:\n${this.log}`));
      };
      proc.stderr.on('data', onData);
      proc.stdout.on('data', onData);
      proc.once('error', onError);
      proc.once('exit', onExit);
    });
    // Keep collecting output (bounded) for diagnostics.
    const keep = (chunk: Buffer): void => {
      this.log = (this.log + chunk.toString()).slice(-64 * 1024);
    };
    proc.stderr.on('data', keep);
    proc.stdout.on('data', keep);
    const onLine = this.opts.onStderrLine;
    if (onLine) {
      let partial = '';
      proc.stderr.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
    }
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Hard kill (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /**
   * Freezes the process (SIGSTOP): the server holds connections but answers nothing, like a stalled disk.
   * Resolves once every thread of the server has stopped: the kernel delivers the signal to each thread when it
   * next runs, so for a moment after kill() returns a thread already woken (by a client's message) may still
   * serve it. On a busy machine that moment is long enough for a publish to be stored and acked.
   */
  async freeze(timeoutMs = 5_000): Promise<void> {
    const pid = this.proc?.pid;
    if (pid === undefined || !this.running) return;
    this.proc?.kill('SIGSTOP');
    const deadline = Date.now() + timeoutMs;
    while (!(await allThreadsStopped(pid))) {
      if (Date.now() > deadline)
        throw new Error(`nats-server ${pid} not stopped ${timeoutMs} ms after SIGSTOP`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  /** Starts again on the same port and store (after stop or kill). */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.launch();
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill(sig);
    await this.exited;
  }
}
