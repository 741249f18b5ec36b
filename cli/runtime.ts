// What every runnable shares: config from the environment plus flags, the root logger, the NATS connection,
// and a shutdown sequence run once on SIGINT/SIGTERM with a force timeout.
import path from 'node:path';
import { loadConfig, ConfigError, type Config, type Env } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import { natsTlsFromConfig, serverTlsFromConfig, type NatsTls, type ServerTls } from '../core/tls/files.js';

export interface Runtime {
  config: Config;
  log: Logger;
  /** TLS material read (and checked) at boot: the servers' (undefined: plaintext) and the NATS client's. */
  tls: { server: ServerTls | undefined; nats: NatsTls | undefined };
  /** The file the logs go to, when not stdout. */
  logFile: string | undefined;
}

export interface BootOptions {
  /** Log JSON lines to <PORTSTREAM_DATA_DIR>/logs/<name> instead of stdout. */
  logFileName?: string;
}

/**
 * Loads config (flags override environment), reads the TLS files it names and builds the logger; a bad value
 * or file ends the process with a message naming the variable.
 */
export function boot(overrides: Env, opts: BootOptions = {}): Runtime {
  let config: Config;
  let tls: Runtime['tls'];
  try {
    config = loadConfig(process.env, overrides);
    tls = { server: serverTlsFromConfig(config), nats: natsTlsFromConfig(config) };
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`portstream: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logFile =
    opts.logFileName === undefined
      ? undefined
      : path.resolve(config.PORTSTREAM_DATA_DIR, 'logs', opts.logFileName);
  const log = createLogger({
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
    ...(logFile === undefined ? {} : { file: logFile }),
  });
  return { config, log, tls, logFile };
}

export type ShutdownStep = [name: string, run: () => Promise<void>];

/**
 * Runs the steps in order on the first SIGINT/SIGTERM. A second signal, or the steps running past the
 * timeout, exits at once with a non-zero code.
 */
export function onShutdown(rt: Runtime, steps: () => ShutdownStep[]): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (stopping) {
        rt.log.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      rt.log.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        rt.log.error({ timeoutMs: rt.config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
        process.exit(1);
      }, rt.config.SHUTDOWN_TIMEOUT_MS + 5000);
      force.unref();
      void (async () => {
        for (const [name, run] of steps()) {
          try {
            await run();
          } catch (err) {
            rt.log.error({ err, step: name }, 'shutdown step failed');
            process.exitCode = 1;
          }
        }
        clearTimeout(force);
        rt.log.info('stopped');
        resolve();
      })();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
