// Watches and decision reads leave nothing behind: 100 WatchContainer calls (half gRPC, half HTTP server-sent
// events) cancelled at random moments, many before the first update, and 100 ListDecisions calls, against a real
// nats-server and the real API in this process. Afterwards the server's consumers on the containers bucket and
// the decisions stream, and this process's timers, return to what they were before.
import http from 'node:http';
import { type ServiceError } from '@grpc/grpc-js';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_CONTAINERS, BUCKET_LIST_INDEX, ensureBuckets } from '../../core/nats/buckets.js';
import { jetstream } from '@nats-io/jetstream';
import { STREAM_DECISIONS } from '../../core/nats/topology.js';
import { Channel } from '../../proto/gen/portstream/v1/customs.js';
import {
  ReleasedFilter,
  TrackingServiceClient,
  type ListContainersResponse,
  type ListDecisionsResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { waitFor } from '../../test-kit/poll.js';
import { unary } from '../helpers/rpc.js';
import {
  decision,
  FIRM_TAX,
  MINE,
  MY_DECL,
  seed,
  startApiFixture,
  status,
  type ApiFixture,
} from './api-fixture.js';
import { publishDecision } from './sink-fixture.js';

const WATCHES = 100;
const LISTS = 100;

/** When a watch is cancelled: in the same tick it started, after a few milliseconds, or after its first update. */
type Moment = 'at-once' | 'soon' | 'after-first';
const MOMENTS: Moment[] = ['at-once', 'soon', 'after-first'];

interface Watch {
  /** Resolves once the client has cancelled. */
  cancelled: Promise<void>;
  /** Whether a status arrived before the cancel. */
  gotData: () => boolean;
}

function cancelAt(moment: Moment, firstData: Promise<void>, cancel: () => void): Promise<void> {
  if (moment === 'at-once') {
    cancel();
    return Promise.resolve();
  }
  const wait =
    moment === 'soon'
      ? Promise.resolve()
      : Promise.race([firstData, new Promise((r) => setTimeout(r, 5000))]);
  return wait.then(
    () =>
      new Promise<void>((resolve) => {
        setTimeout(
          () => {
            cancel();
            resolve();
          },
          Math.floor(Math.random() * (moment === 'soon' ? 15 : 5)),
        );
      }),
  );
}

function grpcWatch(client: TrackingServiceClient, moment: Moment): Watch {
  const call = client.watchContainer({ containerNumber: MINE });
  let got = false;
  const firstData = new Promise<void>((resolve) => {
    call.once('data', () => {
      got = true;
      resolve();
    });
  });
  call.on('error', () => undefined);
  // grpc-js quirk: a client call cancelled in the very tick it was created still reaches the server, and the
  // client never resets its HTTP/2 stream, so the server sees a client that stays. 'at-once' is therefore the
  // next turn of the event loop for gRPC: still before any update can have arrived.
  const at = (cancel: () => void): void => {
    if (moment === 'at-once') setImmediate(cancel);
    else cancel();
  };
  return {
    cancelled: cancelAt(moment, firstData, () => {
      at(() => {
        call.cancel();
      });
    }),
    gotData: () => got,
  };
}

function httpWatch(base: string, moment: Moment): Watch {
  let got = false;
  const req = http.request(`${base}/v1/containers/${MINE}/watch`, {
    headers: { authorization: `Bearer ${TOKENS.firm}` },
    agent: false,
  });
  const firstData = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      res.on('error', () => undefined);
      res.once('data', () => {
        got = true;
        resolve();
      });
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { cancelled: cancelAt(moment, firstData, () => req.destroy()), gotData: () => got };
}

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('tracking API leaves no consumers or timers behind', () => {
  let fx: ApiFixture;
  let jsm: JetStreamManager;
  let client: TrackingServiceClient;

  const consumers = async (): Promise<{ containers: number; decisions: number }> => {
    const [c, d] = await Promise.all([
      jsm.streams.info(`KV_${BUCKET_CONTAINERS}`),
      jsm.streams.info(STREAM_DECISIONS),
    ]);
    return { containers: c.state.consumer_count, decisions: d.state.consumer_count };
  };

  const listDecisions = (): Promise<ListDecisionsResponse> =>
    new Promise((resolve, reject) => {
      client.listDecisions(
        { declarationNumber: MY_DECL },
        (err: ServiceError | null, res?: ListDecisionsResponse) => {
          if (err) reject(err);
          else if (res) resolve(res);
          else reject(new Error('no response'));
        },
      );
    });

  beforeAll(async () => {
    fx = await startApiFixture();
    await seed(fx);
    await publishDecision(fx.natsFx.js, decision(MY_DECL, 1, Channel.YELLOW, 4000));
    await publishDecision(fx.natsFx.js, decision(MY_DECL, 2, Channel.GREEN, 2000));
    jsm = await jetstreamManager(fx.natsFx.nc);
    client = clientAs(TrackingServiceClient, fx.api.grpcAddress, TOKENS.firm);
  }, 60_000);

  afterAll(async () => {
    client.close();
    await fx.close();
  });

  it('returns server consumers and timers to their baseline after 100 cancelled watches and 100 ListDecisions', async () => {
    const baseline = await consumers();
    // The gRPC channel and the HTTP server hold timers of their own: open the channel first, then take the
    // highest count seen over a short while, so a timer that comes and goes is not counted as leaked.
    await waitFor(async () => (await listDecisions()).decisions.length === 2, { what: 'decisions readable' });
    let timerBaseline = 0;
    for (let i = 0; i < 20; i++) {
      timerBaseline = Math.max(timerBaseline, timers());
      await new Promise((r) => setTimeout(r, 10));
    }

    const watches: Watch[] = [];
    const changes = (async () => {
      for (let i = 0; i < 20; i++) {
        await fx.putContainer(status(MINE, 'HICT', [MY_DECL], { releaseBlocker: `change ${i}` }));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    for (let i = 0; i < WATCHES; i++) {
      const moment = MOMENTS[Math.floor(Math.random() * MOMENTS.length)] ?? 'at-once';
      watches.push(i % 2 === 0 ? grpcWatch(client, moment) : httpWatch(fx.api.httpUrl, moment));
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    const lists = await Promise.all(Array.from({ length: LISTS }, () => listDecisions()));
    expect(lists.every((l) => l.decisions.length === 2)).toBe(true);
    await Promise.all(watches.map((w) => w.cancelled));
    await changes;
    // Some watches saw a status before their cancel, some did not: both ends of the race were exercised.
    const withData = watches.filter((w) => w.gotData()).length;
    expect(withData).toBeGreaterThan(0);
    expect(withData).toBeLessThan(WATCHES);

    let last = { containers: -1, decisions: -1, timers: -1 };
    await waitFor(
      async () => {
        last = { ...(await consumers()), timers: timers() };
        return (
          last.containers === baseline.containers &&
          last.decisions === baseline.decisions &&
          last.timers <= timerBaseline
        );
      },
      { timeoutMs: 20_000, what: 'consumers and timers back to baseline' },
    ).catch(() => undefined);
    expect(last).toEqual({
      containers: baseline.containers,
      decisions: baseline.decisions,
      timers: Math.min(last.timers, timerBaseline),
    });
  }, 90_000);

  it('deletes the list index consumer of every ListContainers call', async () => {
    // The projection does not run here: the firm's index key is put by hand.
    const { listIndex } = await ensureBuckets(jetstream(fx.natsFx.nc), 1);
    await listIndex.put(`f.${FIRM_TAX}.c.${MINE}`, '1');
    const list = (): Promise<ListContainersResponse> =>
      unary(client.listContainers.bind(client), {
        locations: [],
        customsStatuses: [],
        callId: '',
        released: ReleasedFilter.UNSPECIFIED,
        pageSize: 0,
        pageToken: '',
      });
    const lists = await Promise.all(Array.from({ length: LISTS }, () => list()));
    expect(lists.every((l) => l.containers.map((c) => c.containerNumber).join() === MINE)).toBe(true);
    const count = async (): Promise<number> =>
      (await jsm.streams.info(`KV_${BUCKET_LIST_INDEX}`)).state.consumer_count;
    await waitFor(async () => (await count()) === 0, { what: 'no list consumers left' }).catch(
      () => undefined,
    );
    expect(await count()).toBe(0);
  });
});
