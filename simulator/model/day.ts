// The traffic of a run: vessel calls spread over each simulated day, merged into one stream ordered by
// simulated release time. Days are generated lazily so a long run holds about two days in memory.
import type { VesselRef } from '../../proto/gen/portstream/v1/common.js';
import { CARRIERS, DEV_FIRM, TERMINALS, TRADERS } from './catalog.js';
import { vesselCall } from './call.js';
import type { CallPlan, TransshipmentLot } from './call.js';
import type { Trader } from './customs.js';
import { taxCode } from './ids.js';
import { createRng } from './prng.js';
import type { SimItem } from './types.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface TrafficOptions {
  readonly seed: number;
  /** First simulated instant, ms since epoch (see clock.anchorClock). */
  readonly simStartMs: number;
  /** Simulated span; items released at or after simStartMs + simSpanMs are not produced. */
  readonly simSpanMs: number;
  /** Vessel calls per simulated day across all terminals (default 14, roughly Hai Phong's container traffic). */
  readonly callsPerDay?: number;
  /** Containers discharged plus loaded per call (default 150-400). */
  readonly containersPerCall?: readonly [number, number];
}

/** Stable for a seed and anchor: re-running the same run re-sends the same ids, which deduplicate. */
function runTag(o: TrafficOptions): string {
  return `hph${(o.seed >>> 0).toString(36)}${Math.floor(o.simStartMs / 1000).toString(36)}`;
}

/**
 * Five characters A-Z 0-9 fixed by seed and anchor (FNV-1a of the run tag): voyage and bill numbers carry it, so
 * calls and bills of different runs (`up` plays overlapping simulated days round after round) differ (but for a
 * one in 60 million chance), while re-running the same run files the same manifests again, which the gateway
 * answers as retries.
 */
export function runCode(o: TrafficOptions): string {
  let h = 0x811c9dc5;
  for (const ch of runTag(o)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return (h % 36 ** 5).toString(36).toUpperCase().padStart(5, '0');
}

interface RunState {
  readonly serials: { next: number };
  readonly usedBoxes: Set<string>;
  readonly transshipments: Map<string, TransshipmentLot[]>;
}

function dayCalls(o: TrafficOptions, day: number, run: RunState): SimItem[] {
  const rng = createRng((o.seed ^ Math.imul(day + 1, 0x9e3779b1)) >>> 0);
  const dayStart = o.simStartMs + day * DAY;
  const span = Math.min(DAY, o.simSpanMs - day * DAY);
  const calls = Math.max(1, Math.round(((o.callsPerDay ?? 14) * span) / DAY));
  const [minC, maxC] = o.containersPerCall ?? [150, 400];
  const brokers = [taxCode(rng), taxCode(rng)];
  const knownTraders: Trader[] = [
    DEV_FIRM,
    ...Array.from({ length: 7 }, (_, k) => ({
      taxCode: taxCode(rng),
      name: TRADERS[k % TRADERS.length] ?? '',
    })),
  ];
  const code = runCode(o);
  const items: SimItem[] = [];
  for (let i = 0; i < calls; i++) {
    const index = day * 1000 + i;
    const carrier = rng.pick(CARRIERS);
    const ship = rng.pick(carrier.vessels);
    const vessel: VesselRef = {
      imoNumber: ship.imo,
      name: ship.name,
      voyage: `${code}${index}${rng.pick(['N', 'S', 'E', 'W'])}`,
    };
    const plan: CallPlan = {
      index,
      // Spread arrivals over the day, the first one soon after the start so a short run shows traffic (and
      // after the manifest, filed at the day's start at the latest).
      eta:
        dayStart +
        Math.min(span * 0.8, (i / calls) * span * 0.8 + rng.int(0, 40) * 60_000) +
        (i === 0 ? HOUR / 3 : HOUR / 4),
      terminal: rng.pick(TERMINALS),
      carrier,
      containers: rng.int(minC, maxC),
      notBefore: dayStart,
      idPrefix: runTag(o),
      billPrefix: `${code}${index}`,
      brokerTaxCode: rng.pick(brokers),
      knownTraders,
      usedBoxes: run.usedBoxes,
      transshipments: run.transshipments,
      nextDeclarationSerial: () => run.serials.next++,
    };
    items.push(...vesselCall(rng, plan, vessel));
  }
  return items;
}

/** The run's items in release order (stable for equal times), ending at simStartMs + simSpanMs. */
export function* traffic(o: TrafficOptions): Generator<SimItem> {
  const end = o.simStartMs + o.simSpanMs;
  // Declaration serials start at a seed-dependent base so separate runs rarely collide.
  const serials = {
    next:
      100_000_000 +
      (createRng(o.seed).int(0, 8_000) * 100_000 + (Math.floor(o.simStartMs / 60_000) % 100_000)),
  };
  let pending: SimItem[] = [];
  const run: RunState = { serials, usedBoxes: new Set(), transshipments: new Map() };
  const days = Math.ceil(o.simSpanMs / DAY);
  for (let day = 0; day < days; day++) {
    pending.push(...dayCalls(o, day, run));
    pending.sort((a, b) => a.at - b.at);
    // A later day's calls never release before that day starts, so everything earlier is final.
    const horizon = Math.min(end, o.simStartMs + (day + 1) * DAY);
    const cut = pending.findIndex((it) => it.at >= horizon);
    const ready = cut === -1 ? pending : pending.slice(0, cut);
    pending = cut === -1 ? [] : pending.slice(cut);
    yield* ready;
  }
}
