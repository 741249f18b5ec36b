// Counters of a simulation run, updated live by the driver: what was sent, what the gateway, the manifest
// service and customs answered. The end-to-end test compares these with ClickHouse; the terminal view polls them.

export interface SimulationStats {
  /** Distinct events offered to the gateway (each counted once, however often re-sent). */
  eventsSent: number;
  batchesSent: number;
  /** Batches re-sent with the same event ids after a failed stream. */
  batchRetries: number;
  streamReconnects: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  /** First rejection reasons, to make a bad generator obvious (capped). */
  rejections: string[];
  /** Vessel calls' cargo manifests filed (answered with a version), and their bills of lading. */
  manifestsFiled: number;
  billsFiled: number;
  manifestsFailed: number;
  /** Why the first failed filing failed, for a failing run's report. */
  firstManifestFailure?: string;
  declarationsSubmitted: number;
  declarationsFailed: number;
  /** Why the first failed declaration failed (gRPC status and message), for a failing run's report. */
  firstDeclarationFailure?: string;
  decisions: { green: number; yellow: number; red: number; other: number };
  /**
   * Decisions citing CARGO_NOT_MANIFESTED for a declaration whose bills were all filed: its manifest's filing
   * failed or came too late. Zero in a healthy run (the model's "bill on no manifest" risk is not counted).
   */
  unexpectedNotManifested: number;
  inspectionsRecorded: number;
  /** Wall-clock ms from SubmitDeclaration to the response carrying the decision. */
  submitLatencyMs: { count: number; sum: number; max: number; samples: number[] };
  /** Per-id accounting, kept only when asked for (a no-loss check needs it; a long run would not want it). */
  ledger?: SimulationLedger;
}

/** What the simulator was told was stored, by id: what a no-loss check must find downstream. */
export interface SimulationLedger {
  /** Event ids answered ACCEPTED (at least once). */
  readonly accepted: Set<string>;
  /** Event ids answered DUPLICATE (stored by an earlier attempt the simulator got no answer for, or re-sent). */
  readonly duplicate: Set<string>;
  /** Declaration numbers whose submission was answered (with a decision, or PENDING at the deadline). */
  readonly submitted: Set<string>;
  /** Declaration numbers whose inspection or document-check result was recorded. */
  readonly inspected: Set<string>;
  /**
   * Declaration numbers whose result was sent but not confirmed: an attempt got no answer (the node serving it
   * died, a deadline passed) and the call then failed all the same. The unanswered attempt may have been recorded,
   * or not.
   */
  readonly inspectionUnconfirmed: Set<string>;
}

export function createStats(opts: { ledger?: boolean } = {}): SimulationStats {
  const stats: SimulationStats = {
    eventsSent: 0,
    batchesSent: 0,
    batchRetries: 0,
    streamReconnects: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    rejections: [],
    manifestsFiled: 0,
    billsFiled: 0,
    manifestsFailed: 0,
    declarationsSubmitted: 0,
    declarationsFailed: 0,
    decisions: { green: 0, yellow: 0, red: 0, other: 0 },
    unexpectedNotManifested: 0,
    inspectionsRecorded: 0,
    submitLatencyMs: { count: 0, sum: 0, max: 0, samples: [] },
  };
  if (opts.ledger === true) {
    stats.ledger = {
      accepted: new Set(),
      duplicate: new Set(),
      submitted: new Set(),
      inspected: new Set(),
      inspectionUnconfirmed: new Set(),
    };
  }
  return stats;
}

const MAX_SAMPLES = 10_000;

export function recordLatency(stats: SimulationStats, ms: number): void {
  const l = stats.submitLatencyMs;
  l.count++;
  l.sum += ms;
  l.max = Math.max(l.max, ms);
  // Keep a bounded reservoir; the newest replace a slot by count so long runs stay representative.
  if (l.samples.length < MAX_SAMPLES) l.samples.push(ms);
  else l.samples[l.count % MAX_SAMPLES] = ms;
}

/** Quantile (0..1) of the sampled submit->decision latencies, or undefined before any decision. */
export function latencyQuantile(stats: SimulationStats, q: number): number | undefined {
  const s = [...stats.submitLatencyMs.samples].sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
