// Builds the root pino logger. Only composition roots (cli/, main.ts files) call this; components receive
// a child logger.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Where pretty output goes; JSON always goes to stdout. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * JSON lines to this file (appended, folder created) instead of stdout, whatever the format: for `up`, whose
   * terminal shows the banner and the live line only.
   */
  file?: string;
}

export function createLogger(opts: LoggerOptions): Logger {
  if (opts.file !== undefined) {
    // Synchronous writes: nothing is lost when the process exits, and `up` logs a few lines a second at most.
    return pino(
      { level: opts.level, base: { pid: process.pid } },
      pino.destination({ dest: opts.file, mkdir: true, sync: true }),
    );
  }
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY);
  if (pretty) {
    return pino({
      level: opts.level,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level: opts.level, base: { pid: process.pid } });
}

/** A logger that drops everything, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
