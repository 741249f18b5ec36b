// A real nats-server per suite: free port, temporary JetStream store, removed afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalNatsServer } from '../../core/nats/local-server.js';

export interface TestNats {
  server: LocalNatsServer;
  dir: string;
  url: string;
  cleanup: () => Promise<void>;
}

export async function startTestNats(extraConfig?: string, procs?: number | 'all'): Promise<TestNats> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-nats-'));
  const server = await LocalNatsServer.start({
    storeDir: path.join(dir, 'js'),
    port: 0,
    ...(extraConfig === undefined ? {} : { extraConfig }),
    ...(procs === undefined ? {} : { procs }),
  });
  return {
    server,
    dir,
    get url() {
      return server.url;
    },
    cleanup: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
