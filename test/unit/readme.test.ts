import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { withConfigTable } from '../../core/config-doc.js';

describe('README', () => {
  it('documents every setting exactly as the code defines it (run `npm run docs` to refresh)', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    expect(withConfigTable(readme)).toBe(readme);
  });
});
