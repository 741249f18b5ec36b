// Container-status latency of the tracking API at a steady request rate, over gRPC and over HTTP. Starts a
// nats-server, embedded ClickHouse and the API (as the integration tests do), writes N container statuses to
// the KV bucket in the processor's format, then runs the open-model load generator in a child process.
//   npx tsx bench/api-status.ts [rate=2000] [seconds=20] [containers=1000]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TOKENS } from '../test/helpers/auth.js';
import { containerNumber } from '../test/helpers/events.js';
import { declaration, FIRM_TAX, startApiFixture, status } from '../test/integration/api-fixture.js';

const [rate = '2000', seconds = '20', count = '1000'] = process.argv.slice(2);
const LOAD = fileURLToPath(new URL('./api-status-load.ts', import.meta.url));

function runLoad(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', LOAD, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(out.trim());
      else reject(new Error(`load generator exited ${String(code)}`));
    });
  });
}

const fx = await startApiFixture();
try {
  const numbers = Array.from({ length: Number(count) }, (_, i) => containerNumber('BEN', i));
  await fx.putDeclaration(declaration('300000099999', FIRM_TAX, numbers));
  for (const n of numbers) await fx.putContainer(status(n, 'HICT', ['300000099999']));
  const list = numbers.join(',');
  // As a firm: the slowest access path (container read plus its declaration read).
  for (const [mode, target] of [
    ['grpc', fx.api.grpcAddress],
    ['http', fx.api.httpUrl],
  ] as const) {
    console.log(
      await runLoad([
        mode,
        target,
        process.env.BENCH_ROLE === 'admin' ? TOKENS.admin : TOKENS.firm,
        rate,
        seconds,
        list,
      ]),
    );
  }
} finally {
  await fx.close();
}
