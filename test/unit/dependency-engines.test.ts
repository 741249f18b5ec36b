// Every installed package must run on the oldest Node the project says it runs on (package.json `engines.node`)
// and on the Node running the tests: a dependency whose own `engines` asks for a newer Node works here by luck,
// until it uses what it asked for.
// `.npmrc` sets engine-strict, so `npm install` refuses such a package too; this test names the culprit.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface LockEntry {
  version?: string;
  engines?: Record<string, string> | string[];
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(path.join(ROOT, file), 'utf8')) as T;
}

describe('dependency engines', () => {
  it('every locked package accepts the oldest supported Node and this one', async () => {
    const project = await readJson<{ engines: { node: string } }>('package.json');
    const lock = await readJson<{ packages: Record<string, LockEntry> }>('package-lock.json');
    const oldest = semver.minVersion(project.engines.node)?.version;
    expect(oldest).toBeDefined();
    const nodes = [oldest ?? '', process.versions.node];

    const refused: string[] = [];
    let checked = 0;
    for (const [where, entry] of Object.entries(lock.packages)) {
      // Old packages may give engines as an array of strings; only the object form names a Node range.
      const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (where === '' || wanted === undefined) continue;
      checked += 1;
      for (const node of nodes) {
        if (!semver.satisfies(node, wanted))
          refused.push(`${where}@${entry.version ?? '?'} wants node ${wanted}, not ${node}`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(refused).toEqual([]);
  });

  it('npm refuses packages whose engines exclude this Node', async () => {
    const npmrc = await readFile(path.join(ROOT, '.npmrc'), 'utf8');
    expect(npmrc.split('\n').map((line) => line.trim())).toContain('engine-strict=true');
  });
});
