// The configuration table as Markdown, for `portstream config` and the README (kept in step by a test).
import { describeSettings } from './config.js';

export function configTableMarkdown(): string {
  const rows = describeSettings().map(
    (r) => `| \`${r.name}\` | ${r.default === '' ? '' : `\`${r.default}\``} | ${r.doc} |`,
  );
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export const README_MARKERS = { start: '<!-- config:start -->', end: '<!-- config:end -->' } as const;

/** Replaces the table between the markers in a README's text. */
export function withConfigTable(readme: string): string {
  const a = readme.indexOf(README_MARKERS.start);
  const b = readme.indexOf(README_MARKERS.end);
  if (a < 0 || b < a) throw new Error('README has no config table markers');
  return `${readme.slice(0, a + README_MARKERS.start.length)}\n${configTableMarkdown()}\n${readme.slice(b)}`;
}
