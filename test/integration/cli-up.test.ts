// `portstream up` as a user runs it: a process that starts its own nats-server, prints the endpoint and tokens,
// takes events, and stops cleanly on Ctrl-C; a second run resumes from the kept data.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs } from '../helpers/auth.js';
import { discBatch } from '../helpers/events.js';
import { publish } from '../helpers/gateway.js';
import { waitFor } from '../helpers/poll.js';

interface Up {
  proc: ChildProcessWithoutNullStreams;
  output: () => string;
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
      },
    },
  );
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      resolve(code);
    }),
  );
  return { proc, output: () => out, exited };
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
          what: `the gRPC address (output: ${up.output()})`,
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
      expect(up.output()).toContain('"msg":"stopped"');
    }
    expect(runs[1]).toBe(runs[0]);
  });
});
