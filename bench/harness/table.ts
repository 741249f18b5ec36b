// The bench result as a plain-text table for the terminal and for bench/README.md.
export function resultTable(r: Record<string, unknown>): string {
  const rows: [string, string][] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string')) {
      // A series of figures or spans (e.g. one per second) reads best on one line.
      rows.push([prefix, v.join(' ')]);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(`${prefix}[${i}]`, x);
      });
    } else {
      rows.push([prefix, typeof v === 'string' ? v : JSON.stringify(v)]);
    }
  };
  walk('', r);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
