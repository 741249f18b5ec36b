// Rewrites the configuration table in README.md from core/config.ts: `npm run docs`.
import { readFile, writeFile } from 'node:fs/promises';
import { withConfigTable } from '../core/config-doc.js';

const path = new URL('../README.md', import.meta.url);
await writeFile(path, withConfigTable(await readFile(path, 'utf8')));
