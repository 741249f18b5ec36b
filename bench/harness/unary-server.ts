// The status scenario's bare baseline server in a process of its own, as the API it is compared with runs in
// its own: started by status.ts with the answer's bytes (base64), it prints {"address": "host:port"} once it
// listens, and serves until its stdin closes.
import { startUnaryServer } from './unary-baseline.js';

const server = await startUnaryServer(Buffer.from(process.argv[2] ?? '', 'base64'));
process.stdout.write(`${JSON.stringify({ address: server.address })}\n`);
process.stdin.on('end', () => {
  server.stop();
});
process.stdin.resume();
