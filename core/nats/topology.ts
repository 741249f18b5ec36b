// The JetStream layout every service shares: stream names, subjects, KV buckets, and their creation.
//
// Subjects carry what consumers filter and partition by:
//   ps.events.<UN/LOCODE>.<terminal>.<equipment|transport>   EventGroup messages from the ingest gateway
//   ps.customs.commands.<declaration number>                 DeclarationCommand messages (submit, amend, ...)
//   ps.customs.decisions.<declaration number>                Decision messages from the processor
//   ps.deadletters.<stream>                                  messages a consumer gave up on, with the reason
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { whilePlacing } from './placement.js';

/** JetStream API error code for "stream name already in use" (not in the client's named codes). */
const STREAM_NAME_EXISTS = 10058;

export const STREAM_EVENTS = 'PS_EVENTS';
export const STREAM_CUSTOMS = 'PS_CUSTOMS';
export const STREAM_DECISIONS = 'PS_DECISIONS';
export const STREAM_DEADLETTERS = 'PS_DEADLETTERS';

export type EventKind = 'equipment' | 'transport';

export const subjects = {
  events: (unLocode: string, terminal: string, kind: EventKind): string =>
    `ps.events.${unLocode}.${terminal}.${kind}`,
  allEvents: 'ps.events.>',
  equipmentEvents: 'ps.events.*.*.equipment',
  transportEvents: 'ps.events.*.*.transport',
  customsCommand: (declarationNumber: string): string => `ps.customs.commands.${declarationNumber}`,
  allCustomsCommands: 'ps.customs.commands.>',
  decision: (declarationNumber: string): string => `ps.customs.decisions.${declarationNumber}`,
  allDecisions: 'ps.customs.decisions.>',
  deadLetter: (stream: string): string => `ps.deadletters.${stream}`,
  allDeadLetters: 'ps.deadletters.>',
} as const;

export interface TopologyOptions {
  replicas: number;
  eventsMaxAgeHours: number;
  eventsMaxBytes: number;
  duplicateWindowSeconds: number;
}

const HOUR_NS = 3600 * 1e9;
export const MAX_MSG_SIZE = 8 * 1024 * 1024;

/**
 * Streams use file storage and refuse new messages when full (discard new): an ingest that cannot store
 * answers UNAVAILABLE instead of silently dropping old, possibly unprocessed data.
 */
export function streamConfigs(o: TopologyOptions): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    num_replicas: o.replicas,
    duplicate_window: nanos(o.duplicateWindowSeconds * 1000),
    max_msg_size: MAX_MSG_SIZE,
  };
  return [
    {
      ...common,
      name: STREAM_EVENTS,
      description: 'Validated terminal events, grouped per batch and subject',
      subjects: [subjects.allEvents],
      max_age: o.eventsMaxAgeHours * HOUR_NS,
      max_bytes: o.eventsMaxBytes,
    },
    {
      // Declarations are legal records: kept a year, never dropped for space. Each declaration's subject is its
      // ledger, whose last message the deciding gateway reads with a direct get.
      ...common,
      name: STREAM_CUSTOMS,
      description: 'Customs declaration ledgers: each command with its decision',
      subjects: [subjects.allCustomsCommands],
      max_age: 366 * 24 * HOUR_NS,
      allow_direct: true,
    },
    {
      ...common,
      name: STREAM_DECISIONS,
      description: 'Clearance decisions; the stream sequence is the WatchDecisions position',
      subjects: [subjects.allDecisions],
      max_age: 366 * 24 * HOUR_NS,
    },
    {
      ...common,
      name: STREAM_DEADLETTERS,
      description: 'Messages a consumer could never process, with the reason',
      subjects: [subjects.allDeadLetters],
      max_age: 30 * 24 * HOUR_NS,
    },
  ];
}

/**
 * Creates the streams, or updates them to this config; safe to call from every service at start-up. With
 * `update: false` (the gateway) an existing stream is left as it is: changing a stream (max_age, max_bytes) is
 * the admin step's (`portstream migrate`, `up`), and the services' NATS users may not (STREAM.UPDATE would let
 * one of them shrink max_age and so purge a stream). Creating what is missing cannot change what exists.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  o: TopologyOptions,
  opts: { update?: boolean } = {},
): Promise<void> {
  for (const cfg of streamConfigs(o)) {
    const name = cfg.name;
    try {
      await jsm.streams.info(name);
      if (opts.update === false) continue;
      // Replicas and storage cannot always be changed in place; update what can be.
      const { storage: _s, retention: _r, ...updatable } = cfg;
      await jsm.streams.update(name, updatable);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
        try {
          await whilePlacing(() => jsm.streams.add(cfg));
        } catch (addErr) {
          // Another service created it between our info and add.
          if (!(addErr instanceof JetStreamApiError && addErr.code === STREAM_NAME_EXISTS)) throw addErr;
        }
      } else {
        throw err;
      }
    }
  }
}

/**
 * Waits until every named stream exists. Readers (processor, sink) call it at start-up instead of creating
 * streams, which a least-privilege deployment does not let them do: started before the gateway (or before an
 * operator created the streams), they wait, saying once what for, rather than exit.
 */
export async function waitForStreams(
  jsm: JetStreamManager,
  names: readonly string[],
  onWait: (missing: string[]) => void,
  pollMs = 500,
): Promise<void> {
  let told = false;
  for (;;) {
    const missing: string[] = [];
    for (const name of names) {
      try {
        await jsm.streams.info(name);
      } catch (err) {
        if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
        missing.push(name);
      }
    }
    if (missing.length === 0) return;
    if (!told) onWait(missing);
    told = true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function topologyOptions(c: {
  JS_REPLICAS: number;
  JS_EVENTS_MAX_AGE_HOURS: number;
  JS_EVENTS_MAX_BYTES: number;
  JS_DUPLICATE_WINDOW_SECONDS: number;
}): TopologyOptions {
  return {
    replicas: c.JS_REPLICAS,
    eventsMaxAgeHours: c.JS_EVENTS_MAX_AGE_HOURS,
    eventsMaxBytes: c.JS_EVENTS_MAX_BYTES,
    duplicateWindowSeconds: c.JS_DUPLICATE_WINDOW_SECONDS,
  };
}
