// Holds the rule set in force and reloads it when the operator changes the file. A file that fails to parse
// or validate is refused with a logged message naming the problem; the rules already in force stay.
import { readFileSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import type { Logger } from '../../logger.js';
import defaults from './default-rules.json' with { type: 'json' };
import { parseRuleSet, ruleSetSchema } from './schema.js';
import type { ParseResult, RuleSet } from './schema.js';

export const DEFAULT_RULES: RuleSet = ruleSetSchema.parse(defaults);

export class RuleStore {
  #rules: RuleSet;
  #watcher: FSWatcher | undefined;

  /** Throws when the file given at start-up is bad: refusing to start beats running with unknown rules. */
  constructor(
    private readonly file: string | undefined,
    private readonly logger: Logger,
  ) {
    if (file === undefined) {
      this.#rules = DEFAULT_RULES;
      return;
    }
    const first = this.#read();
    if (!first.ok) throw new Error(first.message);
    this.#rules = first.rules;
  }

  current(): RuleSet {
    return this.#rules;
  }

  /** Re-reads the file; keeps the old rules (and says why) when the new file is bad. */
  reload(): ParseResult {
    if (this.file === undefined) return { ok: true, rules: this.#rules };
    const next = this.#read();
    if (next.ok) {
      if (next.rules.version !== this.#rules.version) {
        this.logger.info({ from: this.#rules.version, to: next.rules.version }, 'risk rules reloaded');
      }
      this.#rules = next.rules;
    } else {
      this.logger.error(
        { file: this.file, version: this.#rules.version },
        `risk rules refused: ${next.message}`,
      );
    }
    return next;
  }

  /** Reloads on every change of the file until close(). */
  watch(): void {
    if (this.file === undefined || this.#watcher) return;
    this.#watcher = watch(this.file, { persistent: false }, () => this.reload());
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #read(): ParseResult {
    const path = this.file ?? '';
    try {
      return parseRuleSet(readFileSync(path, 'utf8'), path);
    } catch (err) {
      return { ok: false, message: `${path}: cannot read: ${(err as Error).message}` };
    }
  }
}
