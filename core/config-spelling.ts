// Misspelt settings: an environment variable that starts like the settings do (NATS_, SINK_, API_, ...) but is
// not one of them is almost always a typo or a name from an older release (SINK_FLUSH_MS for
// SINK_FLUSH_INTERVAL_MS). Silently ignored, it leaves the default in force while the operator believes
// otherwise, so start-up stops and names the nearest real setting instead.

/** The prefixes the settings use: each name's first word plus the underscore (NATS_, RATE_, ...). */
export function settingPrefixes(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => n.slice(0, n.indexOf('_') + 1)).filter((p) => p.length > 1))].sort();
}

/** Levenshtein distance (insertions, deletions, substitutions each cost 1) over characters or words. */
export function editDistance(a: string | readonly string[], b: string | readonly string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * The setting closest to name: fewest words to change first (SINK_FLUSH_MS is one word from
 * SINK_FLUSH_INTERVAL_MS but fewer letters from SINK_ACK_WAIT_MS), then fewest letters, then names order.
 */
export function nearestSetting(name: string, names: readonly string[]): string {
  const words = name.split('_');
  let best = names[0] ?? '';
  let bestScore: [number, number] = [Infinity, Infinity];
  for (const n of names) {
    const score: [number, number] = [editDistance(words, n.split('_')), editDistance(name, n)];
    if (score[0] < bestScore[0] || (score[0] === bestScore[0] && score[1] < bestScore[1])) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

/** One problem line per variable in env that has a setting's prefix but is not a setting. */
export function misspeltSettings(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): string[] {
  const known = new Set(names);
  const prefixes = settingPrefixes(names);
  return Object.keys(env)
    .filter((k) => env[k] !== undefined && !known.has(k) && prefixes.some((p) => k.startsWith(p)))
    .sort()
    .map(
      (k) =>
        `${k}: not a setting; did you mean ${nearestSetting(k, names)}? (\`portstream config\` lists them)`,
    );
}
