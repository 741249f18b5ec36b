// The simulator as `up` runs it: a port day every two minutes against the local gateway until stopped.
import { setMaxListeners } from 'node:events';
import { runSimulation } from '../simulator/driver.js';
import type { Logger } from '../core/logger.js';

export interface RunningSimulator {
  stop(): Promise<void>;
}

/** Each round plays this much wall-clock time: at 720x that is five port days, all within ingest's age limit. */
const ROUND_MS = 10 * 60_000;

export interface SimulatorTokens {
  /** Terminal operators' events. */
  operator: string;
  customs: string;
  /** Files the vessel calls' cargo manifests: a carrier token holding every simulated carrier code. */
  carrier: string;
}

export function startSimulator(endpoint: string, tokens: SimulatorTokens, log: Logger): RunningSimulator {
  const abort = new AbortController();
  // Every inspection waiting for its simulated delay listens on it: hundreds at a time are expected.
  setMaxListeners(0, abort.signal);
  const simLog = log.child({ component: 'simulator' });
  const loop = async (): Promise<void> => {
    // The simulated span of a round ends at its wall-clock start, so rounds are kept short and repeated with
    // the next seed until `up` stops.
    for (let seed = 42; !abort.signal.aborted; seed++) {
      await runSimulation(
        {
          endpoint,
          token: tokens.operator,
          customsToken: tokens.customs,
          carrierToken: tokens.carrier,
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
