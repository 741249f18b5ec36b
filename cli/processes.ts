// Child runnables of `portstream cluster`: each a separate `portstream <command>` OS process with its own log
// file, in its own process group (a Ctrl-C in the terminal reaches only the parent, which stops the children
// in order), watched for the JSON log record that says it is ready, and stopped with SIGTERM (SIGKILL once
// the timeout passes).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface ChildSpec {
  /** Shown in logs and the banner, and names the log file, e.g. `gateway-1`. */
  readonly name: string;
  /** The `portstream` subcommand and its flags. */
  readonly args: readonly string[];
  /** The child's whole environment. */
  readonly env: NodeJS.ProcessEnv;
  /** Folder of the log files: `<dir>/<name>.log`, appended to. */
  readonly logDir: string;
  /** How to start `portstream` again: the node binary, its flags (e.g. a TypeScript loader) and the script. */
  readonly command: { readonly execPath: string; readonly args: readonly string[] };
}

export type LogRecord = Record<string, unknown>;

/** Children not yet exited: if the parent dies without stopping them, they must not outlive it. */
const live = new Set<ChildProcess>();
function killLiveChildren(): void {
  for (const p of live) p.kill('SIGKILL');
}

/** The child exited (or could not start) before it was ready. */
export class ChildExitedError extends Error {
  constructor(
    readonly child: string,
    readonly code: number | null,
    readonly logFile: string,
  ) {
    super(`${child} exited with ${String(code)} before it was ready; see ${logFile}`);
    this.name = 'ChildExitedError';
  }
}

export class ChildRunnable {
  readonly exited: Promise<number | null>;
  /** The last lines the child wrote that are not JSON log records (a command's printed summary). */
  readonly plainLines: string[] = [];
  private readonly watchers = new Set<(rec: LogRecord) => void>();
  /** The last JSON log records, so a wait started after the record was written still sees it. */
  private readonly recent: LogRecord[] = [];
  private stopping = false;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly proc: ChildProcess,
    private readonly out: WriteStream,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        resolve(code ?? (signal === null ? null : 128));
      });
      // A spawn failure (missing binary) emits 'error' and no 'exit'.
      proc.once('error', () => {
        resolve(null);
      });
    });
    if (live.size === 0) process.once('exit', killLiveChildren);
    live.add(proc);
    void this.exited.then(() => {
      live.delete(proc);
      if (live.size === 0) process.off('exit', killLiveChildren);
      out.end();
    });
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.onLine(line);
      });
    }
  }

  static async start(spec: ChildSpec): Promise<ChildRunnable> {
    await mkdir(spec.logDir, { recursive: true });
    const logFile = path.join(spec.logDir, `${spec.name}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const proc = spawn(spec.command.execPath, [...spec.command.args, ...spec.args], {
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new ChildRunnable(spec.name, logFile, proc, out);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Whether stop() was called (an exit after it is expected). */
  get stopRequested(): boolean {
    return this.stopping;
  }

  /**
   * Resolves with the first value `match` returns for a JSON log record (among the last 200 written, or one
   * to come); rejects when the child exits first or the timeout passes.
   */
  waitForLog<T>(match: (rec: LogRecord) => T | undefined, timeoutMs: number): Promise<T> {
    for (const rec of this.recent) {
      const v = match(rec);
      if (v !== undefined) return Promise.resolve(v);
    }
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, value?: T): void => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
        if (err) reject(err);
        else resolve(value as T);
      };
      const watcher = (rec: LogRecord): void => {
        const v = match(rec);
        if (v !== undefined) done(undefined, v);
      };
      const timer = setTimeout(() => {
        done(new Error(`${this.name} was not ready after ${timeoutMs} ms; see ${this.logFile}`));
      }, timeoutMs);
      this.watchers.add(watcher);
      void this.exited.then((code) => {
        done(new ChildExitedError(this.name, code, this.logFile));
      });
    });
  }

  /** SIGTERM (the child's own graceful shutdown), then SIGKILL if it has not exited within timeoutMs. */
  async stop(timeoutMs: number): Promise<number | null> {
    this.stopping = true;
    if (!this.running) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.proc.kill('SIGKILL');
    }, timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private onLine(line: string): void {
    this.out.write(line + '\n');
    let rec: unknown;
    if (line.startsWith('{')) {
      try {
        rec = JSON.parse(line);
      } catch {
        rec = undefined;
      }
    }
    if (typeof rec !== 'object' || rec === null) {
      this.plainLines.push(line);
      if (this.plainLines.length > 200) this.plainLines.shift();
      return;
    }
    this.recent.push(rec as LogRecord);
    if (this.recent.length > 200) this.recent.shift();
    for (const w of [...this.watchers]) w(rec as LogRecord);
  }
}
