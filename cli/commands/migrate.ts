// `portstream migrate`: the admin step, run once per release before the services (a Job in Kubernetes, a
// one-shot service in Compose): with NATS_URL set, creates the NATS streams (or brings them to this release's
// settings) and the KV buckets, as a NATS user allowed to; then applies pending ClickHouse migrations.
import { createClickHouse, runMigrations } from '../../core/clickhouse/index.js';
import type { Env } from '../../core/config.js';
import { connectFromConfig } from '../nats.js';
import { boot } from '../runtime.js';
import { createNatsTopology } from '../topology.js';

export async function runMigrateCommand(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  if (rt.config.NATS_URL !== undefined) {
    const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-migrate');
    try {
      const created = await createNatsTopology(nc, rt.config);
      rt.log.info({ objects: created }, 'nats topology in place');
      console.log(`nats: ${created.length} streams and buckets in place`);
    } finally {
      await nc.drain();
    }
  }
  const ch = createClickHouse(rt.config, rt.log.child({ component: 'clickhouse' }));
  try {
    const r = await runMigrations(ch, rt.log);
    console.log(`migrations: ${r.applied.length} applied, ${r.alreadyApplied.length} already applied`);
  } finally {
    await ch.close();
  }
}
