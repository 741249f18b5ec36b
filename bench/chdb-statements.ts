// What one statement costs embedded ClickHouse (chDB) here: whole-process CPU per statement, the part of every
// INSERT that does not depend on its rows. A SELECT 1; the sink's key lookup for 500 keys; a one-row INSERT into
// a copy of `decisions` with no views, and into `decisions` itself (its two hourly rollups: three parts);
// then event batches of 1, 1,000 and 10,000 rows through the sink's writer (the key lookup, then the events table,
// its two projections and its views). Every INSERT goes through the sink's own client (core/clickhouse/client.ts).
// Run it in the folder whose disk you want priced: on this VM a file created under /tmp costs up to a millisecond
// of kernel time, under a fresh folder of /var/tmp a tenth of that, on tmpfs less again (bench/README, "Files").
//   npx tsx bench/chdb-statements.ts [folder=os tmpdir] [rounds=2]
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { ClickHouse } from '../core/clickhouse/client.js';
import { EventGroup } from '../proto/gen/portstream/v1/records.js';
import { MAPPINGS } from '../sink/rows.js';
import { existingKeys, writeBatch } from '../sink/writer.js';
import { benchBatch, benchLoad } from './harness/events.js';
import { benchClickHouse } from './sink-schema.js';

const folder = process.argv[2] ?? tmpdir();
const rounds = Number(process.argv[3] ?? 2);

interface Measure {
  round: number;
  statement: string;
  cpu_ms_per_statement: number;
  wall_ms_per_statement: number;
  cpu_us_per_row?: number;
}

async function measure(
  round: number,
  statement: string,
  times: number,
  run: (i: number) => Promise<unknown>,
  rows?: number,
): Promise<Measure> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < times; i++) await run(i);
  const cpu = process.cpuUsage(cpu0);
  const us = cpu.user + cpu.system;
  const m: Measure = {
    round,
    statement,
    cpu_ms_per_statement: Math.round(us / times / 100) / 10,
    wall_ms_per_statement: Math.round(((performance.now() - t0) / times) * 10) / 10,
  };
  if (rows !== undefined) m.cpu_us_per_row = Math.round((us / times / rows) * 10) / 10;
  return m;
}

function decisionRow(n: string, i: number): Record<string, unknown> {
  return {
    declaration_number: n,
    revision: 1,
    channel: 'GREEN',
    status: 'CLEARED',
    rules: [],
    rule_set_version: 'bench',
    decided_time: (Date.now() / 1000).toFixed(3),
    decision_latency_us: 1000,
    position: i,
    note: '',
  };
}

async function main(): Promise<void> {
  const { dir, ch } = await benchClickHouse(folder, 'portstream-chdb-statements-', 'default');
  try {
    await ch.command(`CREATE TABLE ${ch.database}.decisions_plain AS ${ch.database}.decisions`);
    const events = MAPPINGS.find((m) => m.kind === 'event');
    if (events === undefined) throw new Error('no event mapping');
    const load = benchLoad('chdb', 0);
    let next = 0;
    const eventBatch = async (c: ClickHouse, size: number, seq: number): Promise<void> => {
      const group = EventGroup.encode(
        EventGroup.fromPartial({
          events: benchBatch(load, next, size),
          receivedTime: new Date(),
          source: 'bench',
        }),
      ).finish();
      next += size;
      await writeBatch(c, events, events.toRows(group, seq));
    };
    let seq = 0;
    for (let round = 1; round <= rounds; round++) {
      const out: Measure[] = [
        await measure(round, 'SELECT 1', 50, () => ch.query('SELECT 1 AS x')),
        await measure(round, 'key lookup, 500 keys', 30, (i) =>
          existingKeys(
            ch,
            'decision',
            Array.from({ length: 500 }, (_, k) => `${round}/${i}/${k}`),
          ),
        ),
        await measure(round, 'INSERT 1 row, table without views', 30, (i) =>
          ch.insert('decisions_plain', [decisionRow(`P${round}-${i}`, i)], `plain:${round}:${i}`),
        ),
        await measure(round, 'INSERT 1 row, decisions (2 views)', 30, (i) =>
          ch.insert('decisions', [decisionRow(`D${round}-${i}`, i)], `decision:${round}:${i}`),
        ),
      ];
      for (const [size, times] of [
        [1, 20],
        [1000, 10],
        [10_000, 4],
      ] as const) {
        out.push(
          await measure(
            round,
            `sink write, ${size} event rows`,
            times,
            () => eventBatch(ch, size, ++seq),
            size,
          ),
        );
      }
      for (const m of out) console.log(JSON.stringify({ folder, ...m }));
    }
  } finally {
    await ch.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
