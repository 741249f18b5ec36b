// What the traffic model produces: a time-ordered stream of terminal events and customs declarations,
// each released at a simulated instant (`at`), plus what customs should do after the risk decision.
import type { Declaration, InspectionOutcome } from '../../../proto/gen/portstream/v1/customs.js';
import type { Event } from '../../../proto/gen/portstream/v1/events.js';

/** The channel the model intends a declaration to reach; the real risk engine decides. */
export type RiskProfile = 'green' | 'yellow' | 'red';

export interface SimEventItem {
  readonly kind: 'event';
  /** Simulated release instant, ms since epoch; equals event_time for ACTUAL events. */
  readonly at: number;
  readonly event: Event;
}

export interface SimDeclarationItem {
  readonly kind: 'declaration';
  readonly at: number;
  readonly declaration: Declaration;
  readonly risk: RiskProfile;
  readonly reasons: readonly string[];
  /** Simulated delay after a yellow/red decision before customs records the inspection result. */
  readonly inspectionDelayMs: number;
  readonly inspectionOutcome: InspectionOutcome;
}

export type SimItem = SimEventItem | SimDeclarationItem;
