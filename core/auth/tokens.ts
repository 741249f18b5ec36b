// Bearer tokens and the principals they stand for, loaded from a JSON file. The file may hold SHA-256 hashes of
// tokens instead of the tokens themselves, so it need not be a secret; lookups compare hashes, so response time
// does not depend on how much of a guessed token is right.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, PortstreamError } from '../errors.js';
import { Role, type Principal } from './principal.js';

const entrySchema = z
  .object({
    name: z.string().min(1).max(100),
    role: z.enum([Role.Admin, Role.Customs, Role.Operator, Role.Firm, Role.Carrier]),
    token: z.string().min(16).optional(),
    token_sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    // "<UN/LOCODE>:<terminal>", or "<UN/LOCODE>:*" for every terminal of a port.
    terminals: z.array(z.string().regex(/^[A-Z]{2}[A-Z2-9]{3}:([A-Z0-9]{2,6}|\*)$/)).default([]),
    tax_codes: z.array(z.string().min(10).max(14)).default([]),
    // Firms: tax codes of the parties it is registered to act for as customs broker.
    acts_for: z.array(z.string().min(10).max(14)).default([]),
    // Carriers: carrier codes (SMDG/SCAC style) whose manifests it files.
    carriers: z.array(z.string().regex(/^[A-Z0-9]{2,4}$/)).default([]),
  })
  .refine((e) => (e.token === undefined) !== (e.token_sha256 === undefined), {
    message: 'exactly one of token or token_sha256 is required',
  })
  .refine((e) => e.role !== Role.Operator || e.terminals.length > 0, {
    message: 'an operator needs terminals',
  })
  .refine((e) => e.role !== Role.Firm || e.tax_codes.length > 0, { message: 'a firm needs tax_codes' })
  .refine((e) => e.role !== Role.Carrier || e.carriers.length > 0, { message: 'a carrier needs carriers' });

export const tokensFileSchema = z.object({ tokens: z.array(entrySchema).min(1) });
export type TokensFile = z.input<typeof tokensFileSchema>;

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Turns an "authorization" header value into a Principal (UNAUTHENTICATED, or another refusal, otherwise). */
export interface Authenticator {
  authenticate(header: string | undefined): Principal;
}

export class TokenAuthenticator implements Authenticator {
  private readonly byHash = new Map<string, Principal>();
  private readonly byName = new Map<string, Principal>();

  constructor(file: TokensFile) {
    const parsed = tokensFileSchema.parse(file);
    for (const e of parsed.tokens) {
      const principal: Principal = {
        name: e.name,
        role: e.role,
        terminals: new Set(e.terminals),
        taxCodes: new Set(e.tax_codes),
        actsFor: new Set(e.acts_for),
        carriers: new Set(e.carriers),
      };
      this.byHash.set(e.token_sha256 ?? sha256(e.token ?? ''), principal);
      this.byName.set(e.name, principal);
    }
  }

  static async fromFile(file: string): Promise<TokenAuthenticator> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new Error(
        `AUTH_TOKENS_FILE ${file}: cannot read JSON: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const r = tokensFileSchema.safeParse(raw);
    if (!r.success) {
      const problems = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(`AUTH_TOKENS_FILE ${file}: ${problems}`);
    }
    return new TokenAuthenticator(r.data);
  }

  /**
   * The principal with this token name as the tokens file says now (undefined: no such token any more): what a
   * party registered earlier (a webhook) acts with its current rights, not those it had then.
   */
  principalNamed(name: string): Principal | undefined {
    return this.byName.get(name);
  }

  /** The principal for an "authorization" header value ("Bearer <token>"); UNAUTHENTICATED otherwise. */
  authenticate(header: string | undefined): Principal {
    const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    const principal = m?.[1] === undefined ? undefined : this.byHash.get(sha256(m[1]));
    if (!principal) {
      throw new PortstreamError(
        ErrorCode.Unauthenticated,
        header === undefined ? 'missing bearer token' : 'invalid bearer token',
      );
    }
    return principal;
  }
}

/** The simulated port's carrier codes (simulator/): the dev carrier token files their manifests. */
export const DEV_CARRIER_CODES = [
  'HLCU',
  'MAEU',
  'MSCU',
  'CMDU',
  'ONEY',
  'EGLV',
  'COSU',
  'YMLU',
  'HDMU',
  'ZIMU',
];

/**
 * For the one-machine mode: a tokens file with a fresh random token per role, created on first run and kept, so
 * the tokens printed once stay valid across restarts. A file from an earlier version that lacks a role's token
 * gets one added.
 */
export async function ensureDevTokens(
  file: string,
): Promise<{ name: string; role: string; token: string }[]> {
  const make = (): string => randomBytes(18).toString('base64url');
  const fresh: TokensFile['tokens'] = [
    { name: 'admin', role: Role.Admin, token: make() },
    { name: 'customs', role: Role.Customs, token: make() },
    { name: 'terminal-operators', role: Role.Operator, token: make(), terminals: ['VNHPH:*'] },
    { name: 'logistics-firm', role: Role.Firm, token: make(), tax_codes: ['0100109106'] },
    { name: 'carriers', role: Role.Carrier, token: make(), carriers: DEV_CARRIER_CODES },
  ];
  let tokens: TokensFile['tokens'];
  let changed = false;
  try {
    tokens = tokensFileSchema.parse(JSON.parse(await readFile(file, 'utf8'))).tokens;
    for (const t of fresh) {
      if (!tokens.some((e) => e.role === t.role)) {
        tokens.push(t);
        changed = true;
      }
    }
  } catch {
    tokens = fresh;
    changed = true;
  }
  if (changed) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ tokens }, null, 2) + '\n', { mode: 0o600 });
  }
  return tokens
    .filter((t) => t.token !== undefined)
    .map((t) => ({ name: t.name, role: t.role, token: t.token ?? '' }));
}
