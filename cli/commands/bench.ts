// `portstream bench`: baselines and scenarios on this machine, table to stdout, JSON to --json.
import { runBench } from '../../bench/harness/run.js';
import { resultTable } from '../../bench/harness/table.js';

export async function runBenchCommand(opts: {
  quick: boolean;
  json: string;
  clearanceRate: string;
  backgroundEvents: string;
  keep: boolean;
}): Promise<void> {
  const result = await runBench({
    quick: opts.quick,
    jsonPath: opts.json,
    clearanceRate: Number(opts.clearanceRate),
    backgroundEvents: Number(opts.backgroundEvents),
    keep: opts.keep,
  });
  console.log(resultTable(result));
  console.log(`\nJSON written to ${opts.json}`);
}
