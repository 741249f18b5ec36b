// What creating a file costs on this machine, in a given folder: creates N empty files in a new folder under
// it, deletes them, creates N more, and reports the microseconds per file of each pass. On ext4 without a
// journal, an inode is not reused for a while after it is freed, and each allocation reads past the recently
// freed ones: a folder where files come and go (ClickHouse parts, test run folders) makes every new file dearer.
//   npx tsx bench/file-create.ts [folder=os.tmpdir()] [files=1000]
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const base = process.argv[2] ?? tmpdir();
const files = Number(process.argv[3] ?? 1000);
const dir = mkdtempSync(path.join(base, 'portstream-file-create-'));

function createAll(prefix: string): number {
  const t0 = performance.now();
  for (let i = 0; i < files; i++) closeSync(openSync(path.join(dir, `${prefix}${i}`), 'w'));
  return ((performance.now() - t0) * 1000) / files;
}

try {
  const first = createAll('a');
  for (let i = 0; i < files; i++) unlinkSync(path.join(dir, `a${i}`));
  const afterDeletes = createAll('b');
  console.log(
    JSON.stringify({
      folder: base,
      files,
      us_per_file: Math.round(first),
      us_per_file_after_deleting_as_many: Math.round(afterDeletes),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
