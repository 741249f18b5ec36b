// A portstream service as its own process (`node --import tsx cli/portstream.ts <command>`), as deployments run
// it: JSON logs collected, the exit code awaited, tokens from a file written for the test.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TOKENS } from '../../test-kit/auth.js';
import { waitFor } from '../../test-kit/poll.js';

export interface ServiceProcess {
  proc: ChildProcessWithoutNullStreams;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal) and when it happened. */
  exited: Promise<{ code: number | null; at: number }>;
  /** Waits for a log line with this msg and returns it. */
  logLine(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** The test tokens (test-kit/auth.ts) as an AUTH_TOKENS_FILE in dir. */
export async function writeTokensFile(dir: string): Promise<string> {
  const file = path.join(dir, 'tokens.json');
  await writeFile(
    file,
    JSON.stringify({
      tokens: [
        { name: 'admin', role: 'admin', token: TOKENS.admin },
        { name: 'customs', role: 'customs', token: TOKENS.customs },
        { name: 'hict-operator', role: 'operator', token: TOKENS.operator, terminals: ['VNHPH:HICT'] },
        { name: 'tvct-operator', role: 'operator', token: TOKENS.otherOperator, terminals: ['VNHPH:TVCT'] },
      ],
    }),
  );
  return file;
}

/**
 * Starts `portstream <command>` with env on top of this process's environment (JSON logs at info), or, with
 * exactEnv, with env alone (plus PATH): a deployment's environment exactly.
 */
export function startService(
  command: string,
  env: Record<string, string>,
  opts: { exactEnv?: boolean } = {},
): ServiceProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'cli/portstream.ts', command], {
    env: opts.exactEnv
      ? { PATH: process.env.PATH ?? '', ...env }
      : { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    proc.once('exit', (code) => {
      resolve({ code, at: Date.now() });
    }),
  );
  const logs = (): Record<string, unknown>[] =>
    out.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    proc,
    output: () => out,
    logs,
    exited,
    logLine: (msg, timeoutMs = 30_000) =>
      waitFor(() => logs().find((l) => l.msg === msg), { timeoutMs, what: `log "${msg}" (output: ${out})` }),
  };
}
