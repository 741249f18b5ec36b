// KV buckets for the state the processor keeps and the API reads: their names and creation.
//   ps_declarations  key: declaration number       value: core/state/declaration.ts (JSON)
//   ps_declarants    key: declarant tax code       value: first declaration number (marks a known declarant)
//   ps_enterprises   key: tax code  value: core/state/enterprise.ts (protobuf; history = audit trail)
//   ps_containers    key: container number         value: core/state/container.ts (protobuf)
//   ps_vessel_visits key: "<UN/LOCODE>-<terminal>-<IMO>-<voyage>"  value: core/state/visit.ts (protobuf)
//   ps_manifests     key: "<call id>.<carrier code>"   value: ManifestHeader (protobuf; the last 16 versions kept)
//   ps_bills         key: bill of lading number     value: BillRecord (protobuf)
//   ps_list_index    key: see core/state/list-index.ts  value: "1" (who may be shown which container/declaration)
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { ENTERPRISE_HISTORY } from '../state/enterprise.js';
import { whilePlacing } from './placement.js';

export const BUCKET_DECLARATIONS = 'ps_declarations';
export const BUCKET_DECLARANTS = 'ps_declarants';
export const BUCKET_ENTERPRISES = 'ps_enterprises';
export const BUCKET_CONTAINERS = 'ps_containers';
export const BUCKET_VESSEL_VISITS = 'ps_vessel_visits';
export const BUCKET_MANIFESTS = 'ps_manifests';
export const BUCKET_BILLS = 'ps_bills';
export const BUCKET_LIST_INDEX = 'ps_list_index';
/** Versions of a manifest's header kept for audit. */
const MANIFEST_HISTORY = 16;

export interface Buckets {
  declarations: KV;
  declarants: KV;
  /** The enterprise register customs keeps (read by the decider). */
  enterprises: KV;
  containers: KV;
  vesselVisits: KV;
  /** Which party may be shown which container and declaration (processor/index/ writes it). */
  listIndex: KV;
  /** Bucket names (with the prefix), for access that bypasses the KV client (core/nats/pipelined.ts). */
  names: {
    containers: string;
    vesselVisits: string;
    declarations: string;
    declarants: string;
    listIndex: string;
  };
}

/** Creates (or opens) one bucket with the settings every service uses; safe from several services at once. */
export function ensureBucket(js: JetStreamClient, name: string, replicas: number, history = 1): Promise<KV> {
  return whilePlacing(() => new Kvm(js).create(name, { history, replicas }));
}

export interface ManifestBuckets {
  manifests: KV;
  bills: KV;
}

/** The manifest service's buckets (created or opened). */
export async function ensureManifestBuckets(
  js: JetStreamClient,
  replicas: number,
  prefix = '',
): Promise<ManifestBuckets> {
  const [manifests, bills] = await Promise.all([
    ensureBucket(js, `${prefix}${BUCKET_MANIFESTS}`, replicas, MANIFEST_HISTORY),
    ensureBucket(js, `${prefix}${BUCKET_BILLS}`, replicas),
  ]);
  return { manifests, bills };
}

/** The enterprise register's bucket, with the versions it keeps: the same settings from every service. */
export function ensureEnterpriseBucket(js: JetStreamClient, replicas: number, prefix = ''): Promise<KV> {
  return ensureBucket(js, `${prefix}${BUCKET_ENTERPRISES}`, replicas, ENTERPRISE_HISTORY);
}

/** Creates (or opens) every bucket; safe to call from several services at once. */
export async function ensureBuckets(js: JetStreamClient, replicas: number, prefix = ''): Promise<Buckets> {
  const open = (name: string): Promise<KV> => ensureBucket(js, `${prefix}${name}`, replicas);
  const [declarations, declarants, enterprises, containers, vesselVisits, listIndex] = await Promise.all([
    open(BUCKET_DECLARATIONS),
    open(BUCKET_DECLARANTS),
    ensureEnterpriseBucket(js, replicas, prefix),
    open(BUCKET_CONTAINERS),
    open(BUCKET_VESSEL_VISITS),
    open(BUCKET_LIST_INDEX),
  ]);
  return {
    declarations,
    declarants,
    enterprises,
    containers,
    vesselVisits,
    listIndex,
    names: {
      containers: `${prefix}${BUCKET_CONTAINERS}`,
      vesselVisits: `${prefix}${BUCKET_VESSEL_VISITS}`,
      declarations: `${prefix}${BUCKET_DECLARATIONS}`,
      declarants: `${prefix}${BUCKET_DECLARANTS}`,
      listIndex: `${prefix}${BUCKET_LIST_INDEX}`,
    },
  };
}
