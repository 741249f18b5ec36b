// k6: the ingest scenario. Each VU keeps one StreamEvents call open per iteration and sends BATCHES batches
// of BATCH events over it, with WINDOW batches unanswered at most (as the Node harness does), counting the
// per-event results. Events move the data file's containers through discharge, yard move and gate-out at
// the bench terminals, with ids unique to this run, VU and iteration.
//   k6 run -e TOKEN=<operator or admin token> -e INGEST_ADDR=127.0.0.1:50051 bench/k6/ingest.ts
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import grpc from 'k6/net/grpc';
import type { ConstantVUsScenario, Options } from 'k6/options';
import { bearer, DURATION, envNumber, INGEST_ADDR, loadData, token } from './lib/config.ts';

const BATCH = envNumber('BATCH', 500);
const BATCHES = envNumber('BATCHES', 200);
const WINDOW = envNumber('WINDOW', 8);
const TOKEN = token('TOKEN');
const CONTAINERS = loadData().containers;
const TERMINALS = ['HICT', 'TVCT', 'DVCT', 'NDVT'];
const STEPS = ['EQUIPMENT_EVENT_TYPE_DISC', 'EQUIPMENT_EVENT_TYPE_RMVD', 'EQUIPMENT_EVENT_TYPE_GTOT'];
// Ids must be unique across runs too: a re-used id is answered DUPLICATE, which is cheaper than real work.
const RUN = runStamp();

const ingest: ConstantVUsScenario = {
  executor: 'constant-vus',
  vus: envNumber('STREAMS', 2),
  duration: DURATION,
};

export const options: Options = {
  scenarios: { ingest },
  thresholds: {
    events_rejected: ['count==0'],
    'checks{check:stream ended OK}': ['rate==1'],
  },
};

const accepted = new Counter('events_accepted');
const duplicate = new Counter('events_duplicate');
const rejected = new Counter('events_rejected');
const batchAck = new Trend('batch_ack_ms', true);

const client = new grpc.Client();
let connected = false;

function runStamp(): string {
  return Date.now().toString(36);
}

interface EventResult {
  eventId: string;
  status: string;
  field?: string;
  reason?: string;
}

function event(seq: number, id: string, at: Date): object {
  const n = Math.floor(seq / STEPS.length);
  const step = seq % STEPS.length;
  const container = CONTAINERS[n % CONTAINERS.length] ?? '';
  return {
    eventId: id,
    eventTime: at.toISOString(),
    classifier: 'EVENT_CLASSIFIER_ACTUAL',
    facility: { unLocode: 'VNHPH', terminalCode: TERMINALS[n % TERMINALS.length] ?? 'HICT' },
    equipment: {
      type: STEPS[step],
      containerNumber: container,
      isoSizeType: n % 3 === 0 ? '22G1' : '45G1',
      emptyIndicator: 'EMPTY_INDICATOR_LADEN',
      ...(step === 0 ? { vessel: { imoNumber: '9811000', name: 'BENCH', voyage: '001N' } } : {}),
      yardPosition: { block: `B${n % 20}`, bay: n % 60, row: n % 8, tier: 1 + (n % 5) },
      ...(step === 2 ? { truckPlate: '15C-123.45' } : {}),
    },
  };
}

export default function (): void {
  if (!connected) {
    client.connect(INGEST_ADDR, { plaintext: true, reflect: true, timeout: '10s' });
    connected = true;
  }
  const prefix = `k6${RUN}-${exec.vu.idInTest}-${exec.vu.iterationInScenario}`;
  const sentAt = new Map<string, number>();
  const stream = new grpc.Stream(client, 'portstream.v1.IngestService/StreamEvents', {
    metadata: bearer(TOKEN),
  });
  let written = 0;
  let answered = 0;
  const writeNext = (): void => {
    const first = written * BATCH;
    const at = new Date(Date.now() - 60_000);
    const events = Array.from({ length: BATCH }, (_, i) => event(first + i, `${prefix}-${first + i}`, at));
    const batchId = String(written);
    sentAt.set(batchId, Date.now());
    stream.write({ batchId, events });
    written++;
  };
  stream.on('data', (msg) => {
    const res = msg as { batchId: string; results?: EventResult[] };
    answered++;
    const t = sentAt.get(res.batchId);
    if (t !== undefined) batchAck.add(Date.now() - t);
    sentAt.delete(res.batchId);
    for (const r of res.results ?? []) {
      if (r.status === 'EVENT_STATUS_ACCEPTED') accepted.add(1);
      else if (r.status === 'EVENT_STATUS_DUPLICATE') duplicate.add(1);
      else rejected.add(1, { field: r.field ?? '' });
    }
    if (written < BATCHES) writeNext();
    else if (answered === written) stream.end();
  });
  stream.on('error', (err) => {
    const e = err as { code?: number; message?: string } | undefined;
    check(e, { 'stream ended OK': () => false });
  });
  stream.on('end', () => {
    check(answered, { 'stream ended OK': (n) => n === written });
  });
  for (let i = 0; i < Math.min(WINDOW, BATCHES); i++) writeNext();
}
