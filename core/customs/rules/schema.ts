// The versioned risk rule-set file: its zod schema and the parser that refuses a bad file with a message naming
// the offending field, so an operator's mistake never replaces the rules in force.
import { z } from 'zod';

const hsPrefix = z.string().regex(/^\d{2,10}$/, 'HS prefix must be 2-10 digits');
const country = z.string().regex(/^[A-Z]{2}$/, 'country must be ISO 3166-1 alpha-2');
const locode = z.string().regex(/^[A-Z]{2}[A-Z2-9]{3}$/, 'port must be a UN/LOCODE');
const channel = z.enum(['GREEN', 'YELLOW', 'RED']);

export const ruleSetSchema = z
  .object({
    version: z.string().min(1),
    highRiskHsChapters: z.array(z.object({ chapter: z.number().int().min(1).max(99), channel })).default([]),
    licenceRequired: z.array(hsPrefix).default([]),
    priorityGreen: z.boolean().default(true),
    firstTimeDeclarantChannel: channel.default('YELLOW'),
    referenceUnitPrices: z
      .array(
        z.object({
          hsPrefix,
          currency: z.string().regex(/^[A-Z]{3}$/),
          unitPrice: z.number().positive(),
          unit: z.string().min(1).optional(),
        }),
      )
      .default([]),
    valueAnomaly: z
      .object({
        lowRatio: z.number().positive().max(1),
        highRatio: z.number().min(1),
        channel,
      })
      .default({ lowRatio: 0.5, highRatio: 3, channel: 'YELLOW' }),
    highRiskOrigins: z.array(country).default([]),
    highRiskPorts: z.array(locode).default([]),
    highRiskOriginChannel: channel.default('RED'),
    // Channel for cargo whose bill of lading is on no carrier's manifest (CARGO_NOT_MANIFESTED).
    unlistedContainerChannel: channel.default('RED'),
    // Declarant or trader on the register's watch list.
    watchListChannel: channel.default('RED'),
    randomInspection: z
      .object({
        rate: z.number().min(0).max(1),
        // Mixed into the draw with the deployment's secret (processor/rules/selection.ts); not a secret itself.
        seed: z.string().default(''),
        // Version of the selection secret these rules select with (unset: the newest in the secrets file).
        secretVersion: z.string().min(1).optional(),
        channel,
      })
      .default({ rate: 0, seed: '', channel: 'RED' }),
  })
  .strict();

export type RuleSet = z.infer<typeof ruleSetSchema>;
export type RuleChannel = z.infer<typeof channel>;

export type ParseResult = { ok: true; rules: RuleSet } | { ok: false; message: string };

/** Parses rule-set JSON text; never throws. */
export function parseRuleSet(text: string, source = 'rules file'): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `${source}: not valid JSON: ${(err as Error).message}` };
  }
  const result = ruleSetSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, message: `${source}: ${issues.join('; ')}` };
  }
  return { ok: true, rules: result.data };
}
