// How the sink's cost per batch grows with the size of the events table, in embedded ClickHouse (chDB) alone:
// writes batches of B event rows through the sink's writer and reports, per batch, the time and process CPU of
// the key lookup alone and of the whole write (the lookup again, then the INSERT, which also feeds the
// projections and materialized views). The cost per batch should stay flat as the table grows.
// Variants take parts of the schema away to price them: no-projections drops the events table's two
// projections, keys-only its four rollup views (the key view stays), bare both.
//   npx tsx bench/sink-growth.ts [batches=40] [batchRows=50000] [variant=default|no-projections|keys-only|bare]
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { MAPPINGS, eventRow } from '../sink/rows.js';
import { existingKeys, writeBatch } from '../sink/writer.js';
import { benchEvent, benchLoad } from './harness/events.js';
import { benchClickHouse, schemaVariant } from './sink-schema.js';

const batches = Number(process.argv[2] ?? 40);
const batchRows = Number(process.argv[3] ?? 50_000);
const variant = process.argv[4] ?? 'default';
const mapping = MAPPINGS.find((m) => m.table === 'events');
if (mapping === undefined) throw new Error('no events mapping');

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const { dir, ch } = await benchClickHouse(tmpdir(), 'portstream-bench-growth-', schemaVariant(variant));
const runId = `g${Date.now().toString(36)}`;
const load = benchLoad(runId, 0);
const rowsOut: object[] = [];
let seq = 0;
let genCpuMs = 0;
let lookupCpuMs = 0;
let writeCpuMs = 0;
for (let b = 0; b < batches; b += 1) {
  const g0 = cpuMs();
  const rows = Array.from({ length: batchRows }, () => {
    seq += 1;
    return eventRow(benchEvent(load, seq), new Date(), 'bench', seq);
  });
  const c0 = cpuMs();
  genCpuMs += c0 - g0;
  const t0 = performance.now();
  const seen = await existingKeys(
    ch,
    mapping.kind,
    rows.map((r) => r.key),
  );
  const t1 = performance.now();
  const c1 = cpuMs();
  const res = await writeBatch(ch, mapping, rows);
  const t2 = performance.now();
  const c2 = cpuMs();
  lookupCpuMs += c1 - c0;
  writeCpuMs += c2 - c1;
  rowsOut.push({
    batch: b + 1,
    table_rows: (b + 1) * batchRows,
    lookup_ms: Math.round(t1 - t0),
    lookup_cpu_ms: Math.round(c1 - c0),
    seen: seen.size,
    write_ms: Math.round(t2 - t1),
    write_cpu_ms: Math.round(c2 - c1),
    inserted: res.inserted,
    rss_mb: Math.round(process.memoryUsage().rss / 1024 ** 2),
    heap_mb: Math.round(process.memoryUsage().heapUsed / 1024 ** 2),
  });
  console.log(JSON.stringify(rowsOut.at(-1)));
}
// Merges run in the background, between and after the INSERTs: wait for them, then report all of this
// process's CPU per row, which the per-batch figures miss.
for (;;) {
  const [m] = await ch.query<{ n: number }>('SELECT count() AS n FROM system.merges');
  if ((m?.n ?? 0) === 0) break;
  await new Promise((r) => setTimeout(r, 200));
}
const perRow = (ms: number): number => Math.round(((ms * 1000) / (batches * batchRows)) * 10) / 10;
console.log(
  JSON.stringify({
    cpu_us_per_row: {
      generating_rows: perRow(genCpuMs),
      key_lookup: perRow(lookupCpuMs),
      write: perRow(writeCpuMs),
      whole_process: perRow(cpuMs()),
    },
  }),
);
const [parts] = await ch.query<{ parts: number }>(
  "SELECT count() AS parts FROM system.parts WHERE database = 'bench' AND table = 'events' AND active",
);
console.log('active parts of events:', parts?.parts);
await ch.close();
await rm(dir, { recursive: true, force: true });
