// What the traffic model produces: a time-ordered stream of carriers' cargo manifests, terminal events and
// customs declarations, each released at a simulated instant (`at`), plus what customs should do after the risk
// decision.
import type { Declaration, InspectionOutcome } from '../../proto/gen/portstream/v1/customs.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import type { CargoManifest } from '../../proto/gen/portstream/v1/manifest.js';

/** The channel the model intends a declaration to reach; the real risk engine decides. */
export type RiskProfile = 'green' | 'yellow' | 'red';

export interface SimEventItem {
  readonly kind: 'event';
  /** Simulated release instant, ms since epoch; equals event_time for ACTUAL events. */
  readonly at: number;
  readonly event: Event;
}

/** A carrier files the cargo manifest of a vessel call, before the vessel arrives. */
export interface SimManifestItem {
  readonly kind: 'manifest';
  readonly at: number;
  /** "<UN/LOCODE>-<terminal>-<IMO>-<voyage>": what declarations of its bills wait for. */
  readonly callId: string;
  readonly manifest: CargoManifest;
}

export interface SimDeclarationItem {
  readonly kind: 'declaration';
  readonly at: number;
  readonly declaration: Declaration;
  /** Calls whose manifests hold the declaration's bills: it is submitted once they are filed. */
  readonly callIds: readonly string[];
  /** Bills it names that no manifest holds (the "cargo not manifested" risk), empty otherwise. */
  readonly unmanifestedBills: readonly string[];
  readonly risk: RiskProfile;
  readonly reasons: readonly string[];
  /** Simulated delay after a yellow/red decision before customs records the inspection result. */
  readonly inspectionDelayMs: number;
  readonly inspectionOutcome: InspectionOutcome;
}

export type SimItem = SimEventItem | SimManifestItem | SimDeclarationItem;
