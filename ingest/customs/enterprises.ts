// The EnterpriseService: the enterprise register customs keeps (core/state/enterprise.ts), maintained by customs
// and admin through the API, optionally seeded from a file at start-up. Every change is a new KV version that
// records who made it, when and why; firms and operators may neither read nor write it.
import { readFile } from 'node:fs/promises';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { KV } from '@nats-io/kv';
import { isWrongRevision, kvWriteGuarded } from '../../core/nats/cas.js';
import type { KvMirror } from '../../core/nats/kv-mirror.js';
import { Role } from '../../core/auth/principal.js';
import type { TokenAuthenticator } from '../../core/auth/tokens.js';
import { ErrorCode, invalidArgument, PortstreamError, unavailable } from '../../core/errors.js';
import { principalOf, requireRole } from '../../core/grpc/auth.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import { unaryHandler } from '../../core/grpc/unary.js';
import { checkTaxCode } from '../../core/identifiers/index.js';
import type { Logger } from '../../core/logger.js';
import type { RateLimiter } from '../../core/rate-limit.js';
import {
  decodeEnterpriseEntry,
  encodeEnterpriseRecord,
  readEnterprise,
} from '../../core/state/enterprise.js';
import { EnterprisePriority } from '../../proto/gen/portstream/v1/customs.js';
import {
  Enterprise,
  EnterpriseServiceService,
  type EnterpriseRecord,
  type EnterpriseServiceServer,
  type GetEnterpriseRequest,
  type GetEnterpriseResponse,
  type ListEnterprisesRequest,
  type ListEnterprisesResponse,
  type PutEnterpriseRequest,
  type PutEnterpriseResponse,
} from '../../proto/gen/portstream/v1/enterprise.js';

export interface EnterpriseServiceDeps {
  auth: TokenAuthenticator;
  /** ps_enterprises. */
  register: KV;
  log: Logger;
  limiter: RateLimiter;
  /**
   * Resolves once the decisions of this gateway use register revision `revision` (its register mirror holds
   * it), so a change is in force here when the call that made it returns.
   */
  inForce?: (revision: number) => Promise<void>;
}

const MAINTAINERS = [Role.Customs, Role.Admin] as const;
/** Longest PutEnterprise waits for the gateway's register copy to hold the change before it answers. */
const IN_FORCE_WAIT_MS = 2000;

/**
 * EnterpriseServiceDeps.inForce for a gateway whose decider reads the register from `copy`: waits (up to 2 s)
 * until the copy holds the revision written, and logs when it had to stop waiting.
 */
export function inForceWith(
  copy: Pick<KvMirror, 'reached'>,
  log: Logger,
  waitMs = IN_FORCE_WAIT_MS,
): (revision: number) => Promise<void> {
  return async (revision) => {
    if (!(await copy.reached(revision, waitMs))) {
      log.warn({ revision }, 'register change not yet seen by this gateway');
    }
  };
}
/** Most entries ListEnterprises answers (the register is customs' list of notable enterprises, not every firm). */
const MAX_LIST = 10_000;
const HS_PREFIX = /^\d{2,10}$/;
const PRIORITIES = new Set<number>([
  EnterprisePriority.STANDARD,
  EnterprisePriority.PRIORITY,
  EnterprisePriority.AEO,
]);

/** Checks an entry; INVALID_ARGUMENT naming the field (under `prefix`) otherwise. */
export function assertEnterprise(e: Enterprise | undefined, prefix = 'enterprise'): asserts e is Enterprise {
  if (!e) throw invalidArgument(prefix, 'required');
  const taxReason = checkTaxCode(e.taxCode);
  if (taxReason !== undefined) throw invalidArgument(`${prefix}.tax_code`, taxReason);
  if (e.name.trim() === '' || e.name.length > 256)
    throw invalidArgument(`${prefix}.name`, '1-256 characters');
  if (!PRIORITIES.has(e.priority))
    throw invalidArgument(`${prefix}.priority`, 'must be STANDARD, PRIORITY or AEO');
  if (e.watchReason.length > 512) throw invalidArgument(`${prefix}.watch_reason`, 'at most 512 characters');
  if (e.watchListed && e.watchReason.trim() === '') {
    throw invalidArgument(`${prefix}.watch_reason`, 'required when watch_listed');
  }
  if (e.licences.length > 256) throw invalidArgument(`${prefix}.licences`, 'at most 256');
  e.licences.forEach((l, i) => {
    const at = `${prefix}.licences[${i}]`;
    if (l.reference.trim() === '' || l.reference.length > 64) {
      throw invalidArgument(`${at}.reference`, '1-64 characters');
    }
    if (l.hsPrefixes.length === 0 || l.hsPrefixes.length > 64) {
      throw invalidArgument(`${at}.hs_prefixes`, '1-64 HS code prefixes');
    }
    l.hsPrefixes.forEach((p, j) => {
      if (!HS_PREFIX.test(p)) throw invalidArgument(`${at}.hs_prefixes[${j}]`, 'must be 2-10 digits');
    });
  });
}

async function store<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof PortstreamError) throw err;
    throw unavailable('enterprise register unavailable; retry', err);
  }
}

/**
 * Writes a new version of the entry: at `expected` (compare-and-set) when given, otherwise whatever is there.
 * FAILED_PRECONDITION when the entry moved on since `expected`.
 */
export async function putEnterprise(
  kv: KV,
  e: Enterprise,
  change: { by: string; reason: string; expected?: number },
): Promise<EnterpriseRecord> {
  const record: EnterpriseRecord = {
    enterprise: e,
    revision: 0,
    changedBy: change.by,
    changedTime: new Date(),
    reason: change.reason,
  };
  const bytes = encodeEnterpriseRecord(record);
  let revision: number;
  if (change.expected === undefined || change.expected === 0) {
    revision = await kv.put(e.taxCode, bytes);
  } else {
    try {
      revision = await kvWriteGuarded(kv, e.taxCode, bytes, change.expected);
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      const now = await kv.get(e.taxCode);
      throw new PortstreamError(
        ErrorCode.FailedPrecondition,
        `enterprise ${e.taxCode} is at revision ${now?.revision ?? 0}, not ${change.expected}; read it again`,
      );
    }
  }
  return { ...record, revision };
}

/** Entries of the seed file not yet on the register are created; existing ones are left as customs changed them. */
export async function seedRegister(kv: KV, file: string, log: Logger): Promise<number> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`CUSTOMS_ENTERPRISES_FILE ${file}: cannot read JSON: ${(err as Error).message}`);
  }
  const list = (raw as { enterprises?: unknown }).enterprises;
  if (!Array.isArray(list)) throw new Error(`CUSTOMS_ENTERPRISES_FILE ${file}: "enterprises" must be a list`);
  const entries = list.map((x, i) => {
    const e = Enterprise.fromJSON(x);
    try {
      assertEnterprise(e, `enterprises[${i}]`);
    } catch (err) {
      throw new Error(`CUSTOMS_ENTERPRISES_FILE ${file}: ${(err as Error).message}`);
    }
    return e;
  });
  let created = 0;
  for (const e of entries) {
    if ((await kv.get(e.taxCode)) !== null) continue;
    const record: EnterpriseRecord = {
      enterprise: e,
      revision: 0,
      changedBy: 'seed',
      changedTime: new Date(),
      reason: `seeded from ${file}`,
    };
    try {
      await kvWriteGuarded(kv, e.taxCode, encodeEnterpriseRecord(record), 0);
      created++;
    } catch {
      // Created meanwhile (another gateway seeding, or an officer): theirs stands.
    }
  }
  log.info({ file, entries: entries.length, created }, 'enterprise register seeded');
  return created;
}

export function createEnterpriseService(deps: EnterpriseServiceDeps): ServiceRegistration {
  const { auth, log, register } = deps;
  const maintainer = (call: ServerUnaryCall<unknown, unknown>, what: string) => {
    const p = principalOf(auth, call.metadata);
    requireRole(p, MAINTAINERS, what);
    deps.limiter.take(p.name);
    return p;
  };

  const implementation: EnterpriseServiceServer = {
    putEnterprise: unaryHandler(
      log,
      async (call: ServerUnaryCall<PutEnterpriseRequest, PutEnterpriseResponse>) => {
        const p = maintainer(call, 'change the enterprise register');
        const req = call.request;
        assertEnterprise(req.enterprise);
        if (req.reason.trim() === '' || req.reason.length > 512) {
          throw invalidArgument('reason', '1-512 characters: why the entry changes');
        }
        const record = await store(
          putEnterprise(register, req.enterprise, {
            by: p.name,
            reason: req.reason,
            expected: req.expectedRevision,
          }),
        );
        log.info(
          { taxCode: req.enterprise.taxCode, by: p.name, revision: record.revision, reason: req.reason },
          'enterprise register changed',
        );
        await deps.inForce?.(record.revision);
        return { record };
      },
    ),

    getEnterprise: unaryHandler(
      log,
      async (call: ServerUnaryCall<GetEnterpriseRequest, GetEnterpriseResponse>) => {
        maintainer(call, 'read the enterprise register');
        const taxCode = call.request.taxCode;
        const reason = checkTaxCode(taxCode);
        if (reason !== undefined) throw invalidArgument('tax_code', reason);
        const record = await store(readEnterprise(register, taxCode));
        if (!record)
          throw new PortstreamError(ErrorCode.NotFound, `enterprise ${taxCode} is not on the register`);
        const history: EnterpriseRecord[] = [];
        const versions = await store(register.history({ key: taxCode }));
        for await (const e of versions) {
          const r = decodeEnterpriseEntry(e);
          if (r && r.revision !== record.revision) history.push(r);
        }
        history.sort((a, b) => b.revision - a.revision);
        return { record, history };
      },
    ),

    listEnterprises: unaryHandler(
      log,
      async (call: ServerUnaryCall<ListEnterprisesRequest, ListEnterprisesResponse>) => {
        maintainer(call, 'read the enterprise register');
        const keys: string[] = [];
        for await (const k of await store(register.keys())) {
          if (keys.length >= MAX_LIST) break;
          keys.push(k);
        }
        keys.sort();
        const records: EnterpriseRecord[] = [];
        for (const k of keys) {
          const r = await store(readEnterprise(register, k));
          if (r) records.push(r);
        }
        return { records };
      },
    ),
  };
  return { name: 'portstream.v1.EnterpriseService', definition: EnterpriseServiceService, implementation };
}
