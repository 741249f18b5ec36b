// Runs a harness script (a sibling module) in its own node process: built (.js under dist/) or from source
// (.ts under tsx, with the same loader flags this process got). Load generators live there so their CPU and
// event loop are not those of the services they measure.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface HarnessChild {
  process: ChildProcess;
  /** Resolves with everything the child wrote to stdout, rejects if it exits non-zero. */
  done: Promise<string>;
}

export interface HarnessChildOptions {
  /** Called per line of the child's stdout; without it stdout goes to `stdoutFd` or this process's stderr. */
  onLine?: (line: string) => void;
  /** File descriptor for the child's stdout when there is no onLine (e.g. a log file). */
  stdoutFd?: number;
  env?: NodeJS.ProcessEnv;
  /** Give the child a pipe on stdin (child.process.stdin) instead of none. */
  stdinPipe?: boolean;
}

/**
 * `name` is a module path relative to this folder without extension ('status-load', '../../cli/portstream').
 * Service logs never reach this process's stdout, which carries the result table.
 */
export function runHarnessScript(name: string, args: string[], o: HarnessChildOptions = {}): HarnessChild {
  const { onLine, env } = o;
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const child = spawn(process.execPath, [...(fromSource ? process.execArgv : []), script, ...args], {
    stdio: [o.stdinPipe ? 'pipe' : 'ignore', onLine === undefined ? (o.stdoutFd ?? 2) : 'pipe', 'inherit'],
    ...(env === undefined ? {} : { env }),
  });
  const done = new Promise<string>((resolve, reject) => {
    let out = '';
    let partial = '';
    child.stdout?.on('data', (b: Buffer) => {
      const text = b.toString();
      out += text;
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine?.(l);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${name} exited with ${signal ?? String(code)}`));
    });
  });
  return { process: child, done };
}
