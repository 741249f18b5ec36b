import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { parseRuleSet } from '../../core/customs/rules/schema.js';
import { DEFAULT_RULES, RuleStore } from '../../core/customs/rules/store.js';
import { waitFor } from '../../test-kit/poll.js';

const dirs: string[] = [];
const tmpFile = (content: string): string => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-'));
  dirs.push(dir);
  const file = join(dir, 'rules.json');
  writeFileSync(file, content);
  return file;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('rule set file', () => {
  it('the shipped default rules are valid', () => {
    expect(DEFAULT_RULES.version).toMatch(/default/);
    expect(DEFAULT_RULES.highRiskHsChapters.length).toBeGreaterThan(0);
  });

  it('refuses bad files with a message naming the field', () => {
    const bad = parseRuleSet(
      JSON.stringify({ version: 'x', highRiskHsChapters: [{ chapter: 120, channel: 'RED' }] }),
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toContain('highRiskHsChapters.0.chapter');
    const unknown = parseRuleSet(JSON.stringify({ version: 'x', highRiskOrigin: ['KP'] }));
    expect(unknown.ok).toBe(false);
    const notJson = parseRuleSet('{ version', 'r.json');
    expect(notJson.ok).toBe(false);
    if (!notJson.ok) expect(notJson.message).toContain('r.json: not valid JSON');
  });

  it('hot-reloads a good file and keeps the old rules when the new file is bad', async () => {
    const file = tmpFile(JSON.stringify({ version: 'v1' }));
    const store = new RuleStore(file, silentLogger());
    store.watch();
    try {
      expect(store.current().version).toBe('v1');
      writeFileSync(file, JSON.stringify({ version: 'v2', highRiskOrigins: ['KP'] }));
      await waitFor(() => store.current().version === 'v2');
      expect(store.current().highRiskOrigins).toEqual(['KP']);
      writeFileSync(file, JSON.stringify({ version: 'v3', highRiskOrigins: ['kp'] }));
      const refused = store.reload();
      expect(refused.ok).toBe(false);
      expect(store.current().version).toBe('v2');
    } finally {
      store.close();
    }
  });

  it('refuses to start with a bad file', () => {
    const file = tmpFile('not json');
    expect(() => new RuleStore(file, silentLogger())).toThrow(/not valid JSON/);
  });
});
