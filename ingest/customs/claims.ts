// Declaration numbers are chosen by the declarant's system (as VNACCS numbers are quoted back to it), so a number
// is a claim, not a fact. The first submission binds its number to its declarant and a digest of its content with
// one atomic KV create in ps_declaration_numbers, before anything is persisted: a resubmission of the same
// content by the same declarant passes, anything else under the number (other content, another declarant) is
// refused with ALREADY_EXISTS and never reaches the command stream, so no caller can be answered with a decision
// made on someone else's declaration. Numbers are never released: a cancelled declaration keeps its number.
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import { Declaration } from '../../proto/gen/portstream/v1/customs.js';

/** What a number is bound to (JSON in the bucket, readable with `nats kv get`). */
export interface NumberClaim {
  declarant: string;
  /** sha-256 (hex) of the declaration's protobuf encoding. */
  digest: string;
  /** Who submitted first (token name) and when: for audit only, not part of the binding. */
  by: string;
  at: string;
}

export function declarationDigest(d: Declaration): string {
  return createHash('sha256').update(Declaration.encode(d).finish()).digest('hex');
}

function decodeClaim(bytes: Uint8Array): NumberClaim | undefined {
  try {
    const c = JSON.parse(new TextDecoder().decode(bytes)) as Partial<NumberClaim>;
    return typeof c.declarant === 'string' && typeof c.digest === 'string' ? (c as NumberClaim) : undefined;
  } catch {
    return undefined;
  }
}

function inUse(n: string): PortstreamError {
  // Says nothing about who holds the number or what it carries.
  return new PortstreamError(
    ErrorCode.AlreadyExists,
    `declaration number ${n} is already in use by another declaration; submit under a new number ` +
      '(AmendDeclaration changes a declaration)',
  );
}

/**
 * Binds the declaration's number to its declarant and content, or checks that it is bound to exactly these.
 * Throws ALREADY_EXISTS when the number is bound to anything else; NATS failures are thrown as they come.
 */
export async function claimNumber(kv: KV, decl: Declaration, by: string): Promise<void> {
  const n = decl.declarationNumber;
  const mine: NumberClaim = {
    declarant: decl.declarantTaxCode,
    digest: declarationDigest(decl),
    by,
    at: new Date().toISOString(),
  };
  let createError: unknown;
  try {
    await kv.create(n, new TextEncoder().encode(JSON.stringify(mine)));
    return;
  } catch (err) {
    // Either the key exists (read it to find out whose it is) or NATS failed (the read fails too, or finds nothing).
    createError = err;
  }
  const entry = await kv.get(n);
  if (entry === null || entry.operation !== 'PUT') throw createError;
  const held = decodeClaim(entry.value);
  if (held?.declarant !== mine.declarant || held.digest !== mine.digest) throw inUse(n);
}
