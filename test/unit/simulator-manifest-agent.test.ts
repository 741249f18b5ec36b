// The simulator's carriers against a real grpc-js ManifestService (port 0) that fails the first filings of each
// call with UNAVAILABLE after storing them, and refuses one carrier: a filing is retried until answered, each call
// stored once (the re-sent filing is the same manifest), a declaration's wait ends only with its call's answer,
// and a refusal is not retried but counted with its reason.
import { credentials, Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestAgent } from '../../simulator/manifest-agent.js';
import { anchorClock } from '../../simulator/model/clock.js';
import { traffic } from '../../simulator/model/day.js';
import { createRng } from '../../simulator/model/prng.js';
import type { SimManifestItem } from '../../simulator/model/types.js';
import { createStats } from '../../simulator/stats.js';
import { silentLogger } from '../../core/logger.js';
import {
  CargoManifest,
  ManifestServiceClient,
  ManifestServiceService,
  type FileManifestRequest,
  type FileManifestResponse,
} from '../../proto/gen/portstream/v1/manifest.js';

const FAILURES_PER_CALL = 2;
/** Filings received per call id, and the distinct contents stored per call. */
const attempts = new Map<string, number>();
const stored = new Map<string, Set<string>>();
let refused = '';
let server: Server;
let port = 0;

const callIdOf = (m: CargoManifest | undefined): string =>
  `${m?.facility?.unLocode}-${m?.facility?.terminalCode}-${m?.vessel?.imoNumber}-${m?.vessel?.voyage}`;

function fileManifest(
  call: ServerUnaryCall<FileManifestRequest, FileManifestResponse>,
  cb: sendUnaryData<FileManifestResponse>,
): void {
  const m = call.request.manifest;
  const id = callIdOf(m);
  if (m?.carrierCode === refused) {
    cb({ code: status.PERMISSION_DENIED, details: `may not file for carrier ${refused}` });
    return;
  }
  const n = (attempts.get(id) ?? 0) + 1;
  attempts.set(id, n);
  const digest = Buffer.from(CargoManifest.encode(m as CargoManifest).finish()).toString('base64');
  stored.set(id, new Set([...(stored.get(id) ?? []), digest]));
  // Stored, but the answer is lost: the carrier cannot tell and files again.
  if (n <= FAILURES_PER_CALL) cb({ code: status.UNAVAILABLE, details: 'manifest store unavailable; retry' });
  else cb(null, { callId: id, version: 1 });
}

beforeAll(async () => {
  server = new Server();
  const unimplemented = (_call: unknown, cb: (err: { code: number }) => void): void => {
    cb({ code: status.UNIMPLEMENTED });
  };
  server.addService(ManifestServiceService, {
    fileManifest,
    withdrawManifest: unimplemented,
    getManifest: unimplemented,
    getBillOfLading: unimplemented,
  });
  port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(err);
      else resolve(p);
    });
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.tryShutdown(() => {
      resolve();
    });
  });
});

describe('simulator manifest filing', () => {
  it('retries a filing until answered, lets declarations wait for it, and does not retry a refusal', async () => {
    const clock = anchorClock(Date.now(), 120_000, 720);
    const manifests: SimManifestItem[] = [];
    for (const it of traffic({ seed: 5, simStartMs: clock.simStartMs, simSpanMs: clock.simSpanMs })) {
      if (it.kind === 'manifest') manifests.push(it);
      if (manifests.length === 6) break;
    }
    const carriers = new Set(manifests.map((m) => m.manifest.carrierCode));
    expect(carriers.size).toBeGreaterThan(1);
    refused = manifests[0]?.manifest.carrierCode ?? '';
    const refusedCalls = manifests.filter((m) => m.manifest.carrierCode === refused);
    const client = new ManifestServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const stats = createStats();
    const agent = new ManifestAgent([client], new Metadata(), stats, silentLogger(), {
      deadlineMs: 5_000,
      maxInFlight: 2,
      maxAttempts: 8,
      random: createRng(1).next,
    });
    const ids = manifests.map((m) => m.callId);
    expect(agent.filed(ids)).toBeUndefined();
    for (const m of manifests) agent.file(m);
    // Unanswered yet: a declaration of these bills has to wait.
    const wait = agent.filed(ids);
    expect(wait).toBeDefined();
    await wait;
    expect(agent.filed(ids)).toBeUndefined();
    await agent.drain();
    client.close();

    const accepted = manifests.filter((m) => m.manifest.carrierCode !== refused);
    expect(stats.manifestsFiled).toBe(accepted.length);
    expect(stats.billsFiled).toBe(accepted.reduce((n, m) => n + m.manifest.bills.length, 0));
    for (const m of accepted) {
      expect(attempts.get(m.callId), m.callId).toBe(FAILURES_PER_CALL + 1);
      // Every attempt sent the same manifest.
      expect(stored.get(m.callId)?.size).toBe(1);
    }
    expect(stats.manifestsFailed).toBe(refusedCalls.length);
    expect(stats.firstManifestFailure).toContain(`may not file for carrier ${refused}`);
    for (const m of refusedCalls) expect(attempts.has(m.callId)).toBe(false);
  });
});
