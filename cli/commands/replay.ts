// `portstream replay <declaration>`: customs' check that each decision on a declaration's ledger follows from
// what it recorded (command, state before, register entries, first-time status, time), the rule set it names
// (CUSTOMS_RULES_FILE, or --rules for an older version) and the selection secret version it names
// (CUSTOMS_SELECTION_SECRET_FILE). Prints one line per entry; exits 1 when any decision replays otherwise or
// its rule set is not at hand.
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Env } from '../../core/config.js';
import { replayLedger, stateOfEntry } from '../../core/customs/ledger.js';
import type { RuleSet } from '../../core/customs/rules/schema.js';
import { SelectionSecrets, type SelectionKey } from '../../core/customs/rules/selection.js';
import { RuleStore } from '../../core/customs/rules/store.js';
import { checkDeclarationNumber } from '../../core/identifiers/index.js';
import type { Logger } from '../../core/logger.js';
import { STREAM_CUSTOMS, subjects } from '../../core/nats/topology.js';
import { clearanceStatusToJSON } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationCommand, declarationActionToJSON } from '../../proto/gen/portstream/v1/records.js';
import { connectFromConfig } from '../nats.js';
import { boot } from '../runtime.js';

/** Each entry of the declaration's ledger, oldest first (an ordered consumer on its subject, removed after). */
export async function readLedgerEntries(nc: NatsConnection, n: string): Promise<DeclarationCommand[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(STREAM_CUSTOMS, {
    filter_subjects: subjects.customsCommand(n),
    deliver_policy: DeliverPolicy.All,
  });
  const out: DeclarationCommand[] = [];
  try {
    for (;;) {
      const m = await consumer.next({ expires: 2000 });
      if (m === null) break;
      out.push(DeclarationCommand.decode(m.data));
      if (m.info.pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
  return out;
}

export interface ReplayLine {
  index: number;
  action: string;
  status: string;
  ruleSetVersion: string;
  replay: 'same' | 'differs' | 'rules not at hand' | 'nothing to replay';
}

/** Replays the entries with the rule sets at hand; one line per entry. */
export function replayLines(
  entries: readonly DeclarationCommand[],
  rules: readonly RuleSet[],
  selection: (version: string) => SelectionKey,
): ReplayLine[] {
  const byVersion = new Map(rules.map((r) => [r.version, r]));
  const off = new Map(replayLedger(entries, (v) => byVersion.get(v), selection).map((m) => [m.index, m]));
  return entries.map((e, index) => {
    const d = stateOfEntry(e)?.decisions.at(-1);
    const version = d?.ruleSetVersion ?? '';
    const replay: ReplayLine['replay'] =
      d === undefined
        ? 'nothing to replay'
        : !off.has(index)
          ? 'same'
          : byVersion.has(version)
            ? 'differs'
            : 'rules not at hand';
    return {
      index,
      action: declarationActionToJSON(e.action),
      status: d === undefined ? '' : clearanceStatusToJSON(d.status),
      ruleSetVersion: version,
      replay,
    };
  });
}

export async function runReplayCommand(
  n: string,
  rulesFile: string | undefined,
  overrides: Env,
): Promise<void> {
  const reason = checkDeclarationNumber(n);
  if (reason !== undefined) throw new Error(`declaration number ${n}: ${reason}`);
  const rt = boot(overrides);
  const log: Logger = rt.log.child({ component: 'replay' });
  const rules = [new RuleStore(rt.config.CUSTOMS_RULES_FILE, log).current()];
  if (rulesFile !== undefined) rules.push(new RuleStore(rulesFile, log).current());
  const secrets = new SelectionSecrets(rt.config.CUSTOMS_SELECTION_SECRET_FILE, log);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-replay');
  try {
    const entries = await readLedgerEntries(nc, n);
    if (entries.length === 0) throw new Error(`declaration ${n} has no ledger entries`);
    const lines = replayLines(entries, rules, (v) => secrets.keyFor(v));
    for (const l of lines) console.log(JSON.stringify(l));
    if (lines.some((l) => l.replay === 'differs' || l.replay === 'rules not at hand')) process.exitCode = 1;
  } finally {
    await nc.drain();
  }
}
