// Progress display for long runs: a bar in a terminal, a line every few seconds otherwise (CI logs).
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  update(done: number, info?: string): void;
  stop(): void;
}

export function progress(label: string, total: number): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      { format: `${label.padEnd(22)} {bar} {percentage}% {info}`, stream: process.stderr, hideCursor: true },
      Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, info = '') => {
        bar.update(Math.min(done, total), { info });
      },
      stop: () => {
        bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update: (done, info = '') => {
      const now = Date.now();
      if (now - last > 5000) {
        last = now;
        process.stderr.write(`${label}: ${Math.round((100 * done) / total)}% ${info}\n`);
      }
    },
    stop: () => undefined,
  };
}
