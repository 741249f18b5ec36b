// The simulator as `up` runs it: a port day every two minutes against the local gateway until stopped.
import { runSimulation } from '../bench/simulator/driver.js';
import type { Logger } from '../core/logger.js';

export interface RunningSimulator {
  stop(): Promise<void>;
}

/** Each round plays this much wall-clock time: at 720x that is five port days, all within ingest's age limit. */
const ROUND_MS = 10 * 60_000;

export function startSimulator(
  endpoint: string,
  operatorToken: string,
  customsToken: string,
  log: Logger,
): RunningSimulator {
  const abort = new AbortController();
  const simLog = log.child({ component: 'simulator' });
  const loop = async (): Promise<void> => {
    // The simulated span of a round ends at its wall-clock start, so rounds are kept short and repeated with
    // the next seed until `up` stops.
    for (let seed = 42; !abort.signal.aborted; seed++) {
      await runSimulation(
        {
          endpoint,
          token: operatorToken,
          customsToken,
          seed,
          durationMs: ROUND_MS,
          timeScale: 720,
          signal: abort.signal,
        },
        simLog,
      );
    }
  };
  const done = loop().catch((err: unknown) => {
    simLog.error({ err }, 'simulator stopped with an error');
  });
  simLog.info({ endpoint }, 'simulating Hai Phong port traffic (a port day every two minutes)');
  return {
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}
