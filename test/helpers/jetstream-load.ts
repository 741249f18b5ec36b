// A steady load straight into JetStream, as the gateways would write it (EventGroup messages, and submissions
// with their decision as ledger entries, each with a message id), that keeps going while the test kills and
// restarts services. A write counts as acked when JetStream answered with a PubAck; a failed write is retried
// with the same message id.
import { setTimeout as delay } from 'node:timers/promises';
import type { JetStreamClient } from '@nats-io/jetstream';
import { declarationDigest, ledgerEntry } from '../../core/customs/ledger.js';
import type { SelectionKey } from '../../core/customs/rules/selection.js';
import { DEFAULT_RULES } from '../../core/customs/rules/store.js';
import { transition } from '../../core/customs/transition.js';
import { subjects } from '../../core/nats/topology.js';
import {
  DeclarationType,
  DocumentType,
  EnterprisePriority,
  type Declaration,
} from '../../proto/gen/portstream/v1/customs.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { DeclarationAction, DeclarationCommand, EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { equipmentEvent } from '../../test-kit/events.js';

/** A valid import declaration (12-digit number) that the default rules decide at once. */
export function importDeclaration(declarationNumber: string): Declaration {
  return {
    declarationNumber,
    type: DeclarationType.IMPORT,
    declarantTaxCode: '0100109106',
    traderTaxCode: '0100109106',
    traderName: 'T',
    priority: EnterprisePriority.STANDARD,
    goods: [
      {
        hsCode: '84713020',
        description: 'laptops',
        quantity: 1,
        unit: 'PCE',
        customsValue: { currencyCode: 'USD', units: 500, nanos: 0 },
        originCountry: 'CN',
        grossWeightKg: 3,
      },
    ],
    containerNumbers: [],
    vessel: undefined,
    portOfLoading: 'CNSHA',
    portOfDischarge: 'VNHPH',
    documents: [{ type: DocumentType.COMMERCIAL_INVOICE, reference: 'I' }],
    customsOffice: '03CC',
    declaredTime: undefined,
    billNumbers: [],
  };
}

const LOAD_SELECTION: SelectionKey = { version: 'load', secret: new Uint8Array(32) };

/**
 * A first submission as the deciding gateway records it on the ledger: the command with the decision the
 * default rules make (a declarant seen before, nobody on the register).
 */
export function decidedSubmission(cmd: DeclarationCommand): DeclarationCommand {
  const decl = cmd.declaration;
  if (decl === undefined) throw new Error('a submission carries its declaration');
  const now = new Date();
  const t = transition(
    undefined,
    cmd,
    DEFAULT_RULES,
    {
      declarantKnown: true,
      unmanifestedBills: [],
      selection: LOAD_SELECTION,
      register: { declarant: undefined, trader: undefined },
      now,
    },
    now,
  );
  if (t.kind !== 'apply') throw new Error(`submission not decided: ${t.kind}`);
  const binding = { declarantTaxCode: decl.declarantTaxCode, digest: declarationDigest(decl) };
  return ledgerEntry(cmd, t.state, binding, {
    declarantKnown: true,
    registerDeclarant: undefined,
    registerTrader: undefined,
  });
}

export interface LoadOptions {
  /** Event ids are `${prefix}-<batch>-<i>`; declaration numbers are 3<prefix-free counter>. */
  prefix: string;
  eventsPerBatch: number;
  /**
   * Events of batch b go to container b mod this. Keep (events per batch) x (batches / containers) under the
   * 64 recent event ids the processor keeps per container, or older ids drop out of the record being counted.
   */
  containers: number;
  /** Pause between batches: a rate, so the load spans the faults. */
  intervalMs: number;
  /** First declaration number (12 digits); one declaration is submitted per batch. */
  declarationBase: number;
}

export interface Load {
  readonly ackedEvents: Set<string>;
  readonly ackedDeclarations: Set<string>;
  /** Batches fully acked so far. */
  readonly batches: number;
  /** Publish attempts that failed and were retried. */
  readonly retries: number;
  /** Stops after the batch in progress; resolves when every written batch is acked. */
  stop(): Promise<void>;
}

export function startLoad(js: JetStreamClient, o: LoadOptions): Load {
  const state = { stopped: false };
  let batches = 0;
  let retries = 0;
  const ackedEvents = new Set<string>();
  const ackedDeclarations = new Set<string>();
  const withRetry = async (subject: string, data: Uint8Array, msgID: string): Promise<void> => {
    for (;;) {
      try {
        await js.publish(subject, data, { msgID, timeout: 2000 });
        return;
      } catch {
        // Unknown outcome (timeout, connection lost): the same message id makes the retry safe.
        retries++;
        await delay(100);
      }
    }
  };
  const run = (async () => {
    for (let b = 0; !state.stopped; b++) {
      const events: Event[] = Array.from({ length: o.eventsPerBatch }, (_, i) =>
        equipmentEvent(`${o.prefix}-${b}-${i}`, b % o.containers),
      );
      const group = EventGroup.encode({ receivedTime: new Date(), source: 'load', events }).finish();
      const no = String(o.declarationBase + b);
      const cmd = DeclarationCommand.encode(
        decidedSubmission(
          DeclarationCommand.fromPartial({
            commandId: `submit:${no}`,
            action: DeclarationAction.SUBMIT,
            declarationNumber: no,
            declaration: importDeclaration(no),
            receivedTime: new Date(),
            source: 'load',
          }),
        ),
      ).finish();
      await Promise.all([
        withRetry(subjects.events('VNHPH', 'HICT', 'equipment'), group, `${o.prefix}:${b}`).then(() => {
          for (const e of events) ackedEvents.add(e.eventId);
        }),
        withRetry(subjects.customsCommand(no), cmd, `submit:${no}`).then(() => ackedDeclarations.add(no)),
      ]);
      batches++;
      await delay(o.intervalMs);
    }
  })();
  return {
    ackedEvents,
    ackedDeclarations,
    get batches() {
      return batches;
    },
    get retries() {
      return retries;
    },
    stop: async () => {
      state.stopped = true;
      await run;
    },
  };
}
