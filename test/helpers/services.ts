// portstream services as separate OS processes (`node --import tsx cli/portstream.ts <command>`), so a test can
// SIGKILL one the way a crash would, and start it again.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { waitFor } from '../../test-kit/poll.js';

export interface ServiceProcess {
  readonly name: string;
  proc: ChildProcessWithoutNullStreams;
  /** Everything the process printed (JSON log lines), for assertions and failure messages. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGKILL: no shutdown sequence, nothing flushed or acked. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code (the graceful shutdown). */
  stop(): Promise<number | null>;
}

export function spawnService(
  command: 'processor' | 'sink' | 'ingest',
  env: Record<string, string>,
  name: string = command,
): ServiceProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'cli/portstream.ts', command], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
  });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-256 * 1024);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      resolve(code);
    }),
  );
  // A test that fails half-way must not leave services running.
  const killOnExit = (): void => {
    proc.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  return {
    name,
    proc,
    output: () => out,
    exited,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until the service logged a line containing text (e.g. '"msg":"processor started"'). */
export async function waitForLog(s: ServiceProcess, text: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    () => {
      if (s.proc.exitCode !== null) throw new Error(`${s.name} exited: ${s.output()}`);
      return s.output().includes(text);
    },
    { timeoutMs, what: `${s.name} to log ${text} (output: ${s.output().slice(-4000)})` },
  );
}
