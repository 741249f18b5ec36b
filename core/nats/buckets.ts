// KV buckets for the state the processor keeps and the API reads: their names and creation.
//   ps_declarations  key: declaration number       value: core/state/declaration.ts (JSON)
//   ps_declarants    key: declarant tax code       value: first declaration number (marks a known declarant)
//   ps_declaration_numbers key: declaration number value: its first declarant and content digest (gateway)
//   ps_containers    key: container number         value: core/state/container.ts (protobuf)
//   ps_vessel_visits key: "<UN/LOCODE>-<IMO>-<voyage>"  value: core/state/visit.ts (protobuf)
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';

export const BUCKET_DECLARATIONS = 'ps_declarations';
export const BUCKET_DECLARANTS = 'ps_declarants';
export const BUCKET_DECLARATION_NUMBERS = 'ps_declaration_numbers';
export const BUCKET_CONTAINERS = 'ps_containers';
export const BUCKET_VESSEL_VISITS = 'ps_vessel_visits';

export interface Buckets {
  declarations: KV;
  declarants: KV;
  containers: KV;
  vesselVisits: KV;
  /** Bucket names (with the prefix), for access that bypasses the KV client (core/nats/pipelined.ts). */
  names: { containers: string; vesselVisits: string };
}

/** Creates (or opens) one bucket with the settings every service uses; safe from several services at once. */
export function ensureBucket(js: JetStreamClient, name: string, replicas: number): Promise<KV> {
  return new Kvm(js).create(name, { history: 1, replicas });
}

/** Creates (or opens) every bucket; safe to call from several services at once. */
export async function ensureBuckets(js: JetStreamClient, replicas: number, prefix = ''): Promise<Buckets> {
  const open = (name: string): Promise<KV> => ensureBucket(js, `${prefix}${name}`, replicas);
  const [declarations, declarants, containers, vesselVisits] = await Promise.all([
    open(BUCKET_DECLARATIONS),
    open(BUCKET_DECLARANTS),
    open(BUCKET_CONTAINERS),
    open(BUCKET_VESSEL_VISITS),
  ]);
  return {
    declarations,
    declarants,
    containers,
    vesselVisits,
    names: { containers: `${prefix}${BUCKET_CONTAINERS}`, vesselVisits: `${prefix}${BUCKET_VESSEL_VISITS}` },
  };
}
