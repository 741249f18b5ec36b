// The enterprise register kept in the ps_enterprises KV bucket (key: tax code; value: EnterpriseRecord protobuf,
// its revision being the KV revision). Written by the gateway's EnterpriseService on behalf of customs and
// admin, read by the decider. The bucket keeps earlier versions (history), each with who changed it, when and
// why: the audit trail.
import type { KvEntry } from '@nats-io/kv';
import { EnterpriseRecord } from '../../proto/gen/portstream/v1/enterprise.js';

/** Versions of an entry the bucket keeps (the JetStream maximum). */
export const ENTERPRISE_HISTORY = 64;

export function encodeEnterpriseRecord(r: EnterpriseRecord): Uint8Array {
  return EnterpriseRecord.encode({ ...r, revision: 0 }).finish();
}

/** What reading an entry needs: the KV client, or a pipelined bucket (core/nats/pipelined.ts) on hot paths. */
export interface EntryReader {
  get(key: string): Promise<Pick<KvEntry, 'value' | 'revision' | 'operation'> | null>;
}

export function decodeEnterpriseEntry(
  e: Pick<KvEntry, 'value' | 'revision' | 'operation'>,
): EnterpriseRecord | undefined {
  if (e.operation !== 'PUT') return undefined;
  return { ...EnterpriseRecord.decode(e.value), revision: e.revision };
}

export async function readEnterprise(
  kv: EntryReader,
  taxCode: string,
): Promise<EnterpriseRecord | undefined> {
  if (taxCode === '') return undefined;
  const e = await kv.get(taxCode);
  return e === null ? undefined : decodeEnterpriseEntry(e);
}

/** What the risk rules know of a declaration's parties from the register (undefined: not registered). */
export interface RegisterView {
  declarant: EnterpriseRecord | undefined;
  trader: EnterpriseRecord | undefined;
}

export async function registerView(
  kv: EntryReader,
  declarantTaxCode: string,
  traderTaxCode: string,
): Promise<RegisterView> {
  const [declarant, trader] = await Promise.all([
    readEnterprise(kv, declarantTaxCode),
    traderTaxCode === declarantTaxCode ? undefined : readEnterprise(kv, traderTaxCode),
  ]);
  return { declarant, trader: traderTaxCode === declarantTaxCode ? declarant : trader };
}
