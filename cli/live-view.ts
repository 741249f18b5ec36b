// The live view `portstream up` prints in the terminal: events/s through the gateway, decisions by channel,
// clearance latency p99, and consumer lag over every durable consumer. Read from the system itself: the
// gateway's counter, the decision subjects, and JetStream consumer info.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';
import { STREAM_CUSTOMS, STREAM_EVENTS, subjects } from '../core/nats/topology.js';
import { Channel, Decision } from '../proto/gen/portstream/v1/customs.js';
import { Latency } from '../core/latency.js';

export interface LiveView {
  stop(): void;
}

async function ingestedTotal(registry: Registry): Promise<number> {
  const m = registry.getSingleMetric('portstream_ingest_events_total');
  if (!m) return 0;
  const v = await m.get();
  return v.values.filter((x) => x.labels.status === 'accepted').reduce((a, x) => a + x.value, 0);
}

async function consumerLag(jsm: JetStreamManager): Promise<number> {
  let lag = 0;
  for (const stream of [STREAM_EVENTS, STREAM_CUSTOMS]) {
    try {
      for await (const ci of jsm.consumers.list(stream)) {
        if (ci.config.durable_name !== undefined) lag += ci.num_pending + ci.num_ack_pending;
      }
    } catch {
      // Stream not created yet.
    }
  }
  return lag;
}

export async function startLiveView(
  nc: NatsConnection,
  registry: Registry,
  out: NodeJS.WriteStream = process.stdout,
): Promise<LiveView> {
  const jsm = await jetstreamManager(nc);
  const byChannel = { green: 0, yellow: 0, red: 0 };
  let latency = new Latency();
  const sub: Subscription = nc.subscribe(subjects.allDecisions, {
    callback: (_err, msg) => {
      try {
        const d = Decision.decode(msg.data);
        if (d.note !== '') return;
        if (d.channel === Channel.GREEN) byChannel.green++;
        else if (d.channel === Channel.YELLOW) byChannel.yellow++;
        else if (d.channel === Channel.RED) byChannel.red++;
        latency.record(d.decisionLatencyUs / 1000);
      } catch {
        // Not a decision we can read: not this view's concern.
      }
    },
  });
  let last = await ingestedTotal(registry);
  let lastAt = performance.now();
  let lastPrint = 0;
  const tty = out.isTTY;
  const timer = setInterval(() => {
    void (async () => {
      const total = await ingestedTotal(registry);
      const now = performance.now();
      const rate = ((total - last) * 1000) / (now - lastAt);
      last = total;
      lastAt = now;
      const lag = await consumerLag(jsm).catch(() => -1);
      const p99 = latency.count > 0 ? `${latency.ms(99).toFixed(1)} ms` : '-';
      latency = new Latency();
      // Colours only on a terminal: a file or a pipe gets plain text.
      const c = (code: number, text: string | number): string =>
        tty ? `\x1b[${code}m${text}\x1b[0m` : String(text);
      const line =
        `${c(1, 'events')} ${Math.round(rate).toString().padStart(6)}/s (${total} in all) | ${c(1, 'decisions')} ` +
        `${c(32, `green ${byChannel.green}`)} ${c(33, `yellow ${byChannel.yellow}`)} ` +
        `${c(31, `red ${byChannel.red}`)} | ${c(1, 'clearance p99')} ${p99} | ` +
        `${c(1, 'consumer lag')} ${lag < 0 ? '?' : lag}`;
      if (tty) out.write(`\r\x1b[2K${line}`);
      else if (now - lastPrint > 10_000) {
        lastPrint = now;
        out.write(`${line}\n`);
      }
    })();
  }, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      sub.unsubscribe();
      if (tty) out.write('\n');
    },
  };
}
