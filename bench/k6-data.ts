// Test data for the k6 scripts (bench/k6/), written with the harness's own generators so every record passes
// the gateway's validation: declarations with fresh numbers (a re-used number is answered with its earlier
// decision, which measures nothing) and a pool of container numbers with valid ISO 6346 check digits, which
// the ingest script moves and the status script reads.
//   npx tsx bench/k6-data.ts [out=bench/k6/data.json] [declarations=20000] [containers=5000]
import { writeFile } from 'node:fs/promises';
import { Declaration } from '../proto/gen/portstream/v1/customs.js';
import { declarations } from './harness/clearance.js';
import { benchContainer } from './harness/events.js';

const [out = 'bench/k6/data.json', declarationCount = '20000', containerCount = '5000'] =
  process.argv.slice(2);
const data = {
  generated: new Date().toISOString(),
  declarations: declarations(Number(declarationCount), Date.now() % 1_000_000).map((d) =>
    Declaration.toJSON(d),
  ),
  containers: Array.from({ length: Number(containerCount) }, (_, i) => benchContainer(i)),
};
await writeFile(out, JSON.stringify(data));
console.log(`${out}: ${data.declarations.length} declarations, ${data.containers.length} containers`);
