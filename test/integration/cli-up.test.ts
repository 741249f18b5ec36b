// `portstream up` as a user runs it: a process that starts its own nats-server, prints the endpoint and tokens,
// takes events, and stops cleanly on Ctrl-C; a second run resumes from the kept data. The terminal gets the
// banner and the live line only (no log lines, no warnings); the logs go to the file the banner names.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs } from '../../test-kit/auth.js';
import { discBatch } from '../../test-kit/events.js';
import { publish } from '../helpers/gateway.js';
import { waitFor } from '../../test-kit/poll.js';
import { oneMachineNatsProcs } from '../../core/config.js';

interface Up {
  proc: ChildProcessWithoutNullStreams;
  output: () => string;
  errors: () => string;
  exited: Promise<number | null>;
}

function startUp(dataDir: string): Up {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/portstream.ts', 'up', '--no-simulate', '--port', '0'],
    {
      env: {
        ...process.env,
        PORTSTREAM_DATA_DIR: dataDir,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        NATS_URL: '',
        API_GRPC_PORT: '0',
        API_HTTP_PORT: '0',
        NOTIFY_GRPC_PORT: '0',
        NOTIFY_HTTP_PORT: '0',
      },
    },
  );
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      resolve(code);
    }),
  );
  return { proc, output: () => out, errors: () => err, exited };
}

describe('portstream up', () => {
  let dir: string;
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('comes up, takes events with the printed token, stops on SIGINT, and resumes with the same tokens', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-up-'));
    const runs: string[] = [];
    for (const round of [1, 2]) {
      const up = startUp(dir);
      try {
        const address = await waitFor(() => /gRPC ingest\s+(\S+)/.exec(up.output())?.[1], {
          timeoutMs: 30_000,
          what: `the gRPC address (output: ${up.output()} ${up.errors()})`,
        });
        const dashboard = /dashboard\s+(\S+)\//.exec(up.output())?.[1];
        expect((await fetch(`${dashboard ?? ''}/healthz`)).status).toBe(200);
        const token = /operator\s+\S+\s+Bearer (\S+)/.exec(up.output())?.[1];
        expect(token).toBeDefined();
        runs.push(token ?? '');
        const client = clientAs(IngestServiceClient, address, token);
        const res = await publish(client, discBatch(`up${round}`, 5, 0));
        expect(res.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
        client.close();
      } finally {
        up.proc.kill('SIGINT');
      }
      expect(await up.exited).toBe(0);
      const out = up.output();
      expect(out).toMatch(/\nstopped\n$/);
      // Not one log line in the terminal, and nothing at all on stderr (no warnings).
      expect(out.split('\n').filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
      expect(up.errors()).toBe('');
      const logFile = /logs\s+(\S+)/.exec(out)?.[1] ?? '';
      expect(logFile).toBe(path.join(dir, 'logs', 'up.log'));
      const lines = (await readFile(logFile, 'utf8'))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { msg: string; pid: number; procs?: unknown });
      const mine = lines.filter((l) => l.pid === up.proc.pid).map((l) => l.msg);
      expect(mine).toContain('gRPC server listening');
      // Its own nats-server shares the machine: it got `up`'s default share of the cores.
      const started = lines.find(
        (l) => l.pid === up.proc.pid && l.msg === 'started local nats-server with JetStream',
      );
      expect(started?.procs).toBe(oneMachineNatsProcs());
      expect(mine.at(-1)).toBe('stopped');
    }
    expect(runs[1]).toBe(runs[0]);
  });
});
