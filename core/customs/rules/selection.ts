// The per-deployment secret behind random inspection. The draw is an HMAC of the declaration number under a
// secret only the deployment holds, so a declarant who chooses its numbers cannot tell which ones would be
// selected; customs, holding the secret file, can replay any decision (the decision records the secret's
// version). The file (CUSTOMS_SELECTION_SECRET_FILE, created by `portstream up` in its data folder, never in the
// repository) lists versions; the rules file's randomInspection.secretVersion picks one, so a new secret takes
// effect together with a new rules version, and the newest is used when the rules name none. Re-read when it
// changes; a bad file is refused and the secrets in force stay.
import { randomBytes } from 'node:crypto';
import { readFileSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { z } from 'zod';
import type { Logger } from '../../logger.js';

export interface SelectionKey {
  version: string;
  secret: Uint8Array;
}

const fileSchema = z
  .object({
    secrets: z
      .array(
        z
          .object({
            version: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1-64 of A-Za-z0-9._:-'),
            secret: z.string().regex(/^[0-9a-f]{64,}$/, 'at least 32 bytes as lowercase hex'),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

type SecretsFile = z.infer<typeof fileSchema>;

/** Parses the file's text; throws an Error naming the file and the problem (never the secret). */
function parse(text: string, source: string): SelectionKey[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${source}: not valid JSON`);
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source}: ${issues.join('; ')}`);
  }
  return r.data.secrets.map((s) => ({ version: s.version, secret: Buffer.from(s.secret, 'hex') }));
}

/** A new secrets file with one random secret (mode 0600); for `portstream up` on its first run. */
export function createSecretsFile(
  file: string,
  version = `s-${new Date().toISOString().slice(0, 10)}`,
): void {
  const content: SecretsFile = { secrets: [{ version, secret: randomBytes(32).toString('hex') }] };
  writeFileSync(file, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}

export class SelectionSecrets {
  #keys: SelectionKey[];
  #watcher: FSWatcher | undefined;

  /**
   * Without a file: one random secret for this process's life (a warning says so: selection cannot be replayed
   * after it stops). A bad file given at start-up throws.
   */
  constructor(
    private readonly file: string | undefined,
    private readonly logger: Logger,
  ) {
    if (file === undefined) {
      this.#keys = [{ version: `ephemeral-${randomBytes(4).toString('hex')}`, secret: randomBytes(32) }];
      logger.warn(
        'CUSTOMS_SELECTION_SECRET_FILE not set: random inspection uses a secret of this process only ' +
          '(decisions cannot be replayed after it stops)',
      );
      return;
    }
    this.#keys = parse(readFileSync(file, 'utf8'), file);
  }

  /** The key the rules ask for (by version), or the newest. */
  keyFor(version: string | undefined): SelectionKey {
    const newest = this.#keys.at(-1) as SelectionKey;
    if (version === undefined) return newest;
    const k = this.#keys.find((x) => x.version === version);
    if (k) return k;
    this.logger.error(
      { wanted: version, using: newest.version },
      'selection secret version named by the rules is not in the secrets file; using the newest',
    );
    return newest;
  }

  reload(): void {
    if (this.file === undefined) return;
    try {
      this.#keys = parse(readFileSync(this.file, 'utf8'), this.file);
      this.logger.info({ versions: this.#keys.map((k) => k.version) }, 'selection secrets reloaded');
    } catch (err) {
      this.logger.error(`selection secrets refused: ${(err as Error).message}`);
    }
  }

  watch(): void {
    if (this.file === undefined || this.#watcher) return;
    this.#watcher = watch(this.file, { persistent: false }, () => {
      this.reload();
    });
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
