// KV buckets for the state the processor keeps and the API reads: their names and creation.
//   ps_declarations  key: declaration number       value: core/state/declaration.ts (JSON)
//   ps_declarants    key: declarant tax code       value: first declaration number (marks a known declarant)
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';

export const BUCKET_DECLARATIONS = 'ps_declarations';
export const BUCKET_DECLARANTS = 'ps_declarants';

export interface Buckets {
  declarations: KV;
  declarants: KV;
}

/** Creates (or opens) every bucket; safe to call from several services at once. */
export async function ensureBuckets(js: JetStreamClient, replicas: number, prefix = ''): Promise<Buckets> {
  const kvm = new Kvm(js);
  const open = (name: string): Promise<KV> => kvm.create(`${prefix}${name}`, { history: 1, replicas });
  const [declarations, declarants] = await Promise.all([open(BUCKET_DECLARATIONS), open(BUCKET_DECLARANTS)]);
  return { declarations, declarants };
}
