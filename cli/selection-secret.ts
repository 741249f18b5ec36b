// The selection secret for `up` and `cluster`: CUSTOMS_SELECTION_SECRET_FILE when set, otherwise a file of one
// random secret under the data folder, created on the first run and kept (decisions stay replayable across
// runs). Never in the repository: the data folder is not committed.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createSecretsFile } from '../core/customs/rules/selection.js';
import type { Runtime } from './runtime.js';

export function selectionSecretFor(rt: Runtime, dataDir = rt.config.PORTSTREAM_DATA_DIR): string {
  const configured = rt.config.CUSTOMS_SELECTION_SECRET_FILE;
  if (configured !== undefined) return configured;
  const file = path.resolve(dataDir, 'selection-secret.json');
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    createSecretsFile(file);
    rt.log.info({ file }, 'created the random-inspection selection secret');
  }
  return file;
}
