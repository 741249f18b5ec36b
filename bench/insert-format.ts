// What the sink's INSERT costs to build in Node and to run in embedded ClickHouse, per way of inserting: the
// same kind of event rows, into the events table as deployed (variant default) or with parts taken away
// (bench/sink-schema.ts), the ways taking turns batch by batch. Ways (comma-separated): json
// (JSONCompactEachRow with the sink's settings), tsv (TabSeparated), and json+<setting>=<value>[+...] for extra
// INSERT settings.
//   npx tsx bench/insert-format.ts [batches=8] [batchRows=50000]
//     [variant=default|no-projections|keys-only|bare] [ways=json,tsv] [folder]
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChdbConnection } from 'chdb/connection';
import { insertSettings } from '../core/clickhouse/client.js';
import { eventRow } from '../sink/rows.js';
import { benchEvent, benchLoad } from './harness/events.js';
import { benchClickHouse, schemaVariant } from './sink-schema.js';

const batches = Number(process.argv[2] ?? 8);
const batchRows = Number(process.argv[3] ?? 50_000);
const variant = process.argv[4] ?? 'default';
const ways = (process.argv[5] ?? 'json,tsv').split(',').map((name) => {
  const [format, ...settings] = name.split('+');
  if (format !== 'json' && format !== 'tsv') throw new Error(`unknown format ${format}`);
  const extra = Object.fromEntries(settings.map((kv) => kv.split('=') as [string, string]));
  return { name, format, extra };
});
const folder = process.argv[6] ?? tmpdir();

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const ESCAPE = /[\t\n\\]/;
function tsvString(s: string): string {
  return ESCAPE.test(s)
    ? s.replace(/[\t\n\\]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\\\'))
    : s;
}
const QUOTE = /['\\\t\n]/;
function quoted(s: string): string {
  return `'${QUOTE.test(s) ? s.replace(/['\\\t\n]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : `\\${c}`)) : s}'`;
}
function tsvLine(values: unknown[]): string {
  let out = '';
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (i > 0) out += '\t';
    if (typeof v === 'string') out += tsvString(v);
    else if (typeof v === 'number') out += String(v);
    else if (Array.isArray(v)) out += `[${(v as string[]).map(quoted).join(',')}]`;
    else throw new Error(`unexpected value ${String(v)}`);
  }
  return out;
}

const { dir, ch } = await benchClickHouse(folder, 'portstream-bench-format-', schemaVariant(variant));
await ch.close();
const chdb = createChdbConnection({ path: path.resolve(dir, 'clickhouse') });
const load = benchLoad(`f${Date.now().toString(36)}`, 0);
const totals: Record<string, { build: number; insert: number; rows: number; bytes: number }> =
  Object.fromEntries(ways.map((w) => [w.name, { build: 0, insert: 0, rows: 0, bytes: 0 }]));
let seq = 0;
for (let b = 0; b < batches; b += 1) {
  const rows = Array.from({ length: batchRows }, () => {
    seq += 1;
    return eventRow(benchEvent(load, seq), new Date(), 'bench', seq).row;
  });
  const byShape = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) {
    const k = Object.keys(r).join(',');
    const group = byShape.get(k);
    if (group) group.push(r);
    else byShape.set(k, [r]);
  }
  const way = ways[b % ways.length];
  const t = way && totals[way.name];
  if (!way || !t) throw new Error('no way to insert');
  const { format, extra } = way;
  for (const [shape, group] of byShape) {
    const c0 = cpuUs();
    const text =
      format === 'json'
        ? group.map((r) => JSON.stringify(Object.values(r))).join('\n')
        : group.map((r) => tsvLine(Object.values(r))).join('\n');
    const values = Buffer.from(text);
    const c1 = cpuUs();
    await chdb.chdb.rawInsert({
      table: 'bench.events',
      columns: shape.split(','),
      values,
      format: format === 'json' ? 'JSONCompactEachRow' : 'TabSeparated',
      settings: { ...insertSettings(`b${b}:${shape.length}`), ...extra },
    });
    const c2 = cpuUs();
    t.build += c1 - c0;
    t.insert += c2 - c1;
    t.rows += group.length;
    t.bytes += values.length;
  }
}
const count = (await chdb.chdb.queryAsync('SELECT count() FROM bench.events', { format: 'CSV' }))
  .text()
  .trim();
for (const [way, t] of Object.entries(totals)) {
  console.log(
    JSON.stringify({
      way,
      rows: t.rows,
      build_us_per_row: Math.round((t.build / t.rows) * 100) / 100,
      insert_us_per_row: Math.round((t.insert / t.rows) * 100) / 100,
      bytes_per_row: Math.round(t.bytes / t.rows),
    }),
  );
}
console.log('rows in table', count);
await chdb.close();
await rm(dir, { recursive: true, force: true });
