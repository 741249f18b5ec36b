// The carriers' side of the port day: each vessel call's cargo manifest is filed before the vessel arrives, as the
// carrier (or its shipping agent) would, with a deadline and retried while the gateway is unavailable. A filing is
// idempotent (the same manifest again is answered with its version), so a retry after a lost answer is safe.
// Declarations of a call's bills wait for its filing to be answered, as a broker waits for the e-manifest before
// declaring against it.
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { FileManifestResponse, ManifestServiceClient } from '../proto/gen/portstream/v1/manifest.js';
import type { SimManifestItem } from './model/types.js';
import { backoffDelay, DEFAULT_BACKOFF, isRetryable, sleep } from './retry.js';
import type { SimulationStats } from './stats.js';

export interface ManifestAgentOptions {
  /** FileManifest deadline: a filing writes a record per bill and per container, so it takes longer than most calls. */
  readonly deadlineMs: number;
  readonly maxInFlight: number;
  readonly maxAttempts: number;
  readonly random: () => number;
  readonly signal?: AbortSignal;
}

export class ManifestAgent {
  /** Each call's filing, settled (true: filed) once answered or given up. */
  private readonly filings = new Map<string, Promise<boolean>>();
  /** Calls whose filing is still waiting for its answer. */
  private readonly unanswered = new Set<string>();
  private inFlight = 0;
  private readonly wakers: (() => void)[] = [];
  private calls = 0;

  constructor(
    private readonly clients: readonly ManifestServiceClient[],
    private readonly metadata: Metadata,
    private readonly stats: SimulationStats,
    private readonly log: Logger,
    private readonly opts: ManifestAgentOptions,
  ) {
    if (clients.length === 0) throw new RangeError('ManifestAgent needs at least one gateway client');
  }

  /**
   * Files the manifest once one of the slots is free, without holding up the caller: the terminals' events go on
   * while a filing waits. Waiting filings are at most one per vessel call released so far.
   */
  file(item: SimManifestItem): void {
    this.unanswered.add(item.callId);
    const filing = this.acquire()
      .then(() => this.handle(item))
      .finally(() => {
        this.inFlight--;
        this.unanswered.delete(item.callId);
        this.wakers.shift()?.();
      });
    this.filings.set(item.callId, filing);
  }

  private async acquire(): Promise<void> {
    while (this.inFlight >= this.opts.maxInFlight) await new Promise<void>((r) => this.wakers.push(r));
    this.inFlight++;
  }

  /** Settles once the filings of these calls are answered; undefined when none is waiting for its answer. */
  filed(callIds: readonly string[]): Promise<unknown> | undefined {
    const waiting = callIds.filter((id) => this.unanswered.has(id));
    return waiting.length === 0
      ? undefined
      : Promise.all(waiting.map((id) => this.filings.get(id) ?? Promise.resolve(true)));
  }

  async drain(): Promise<void> {
    await Promise.all(this.filings.values());
  }

  private async handle(item: SimManifestItem): Promise<boolean> {
    const m = item.manifest;
    try {
      const res = await this.retrying(m.carrierCode, (client, cb) =>
        client.fileManifest(
          { manifest: m, expectedVersion: 0 },
          this.metadata,
          { deadline: new Date(Date.now() + this.opts.deadlineMs) },
          cb,
        ),
      );
      this.stats.manifestsFiled++;
      this.stats.billsFiled += m.bills.length;
      this.log.debug({ call: res.callId, version: res.version, bills: m.bills.length }, 'manifest filed');
      return true;
    } catch (err) {
      this.stats.manifestsFailed++;
      this.stats.firstManifestFailure ??= `${item.callId}: ${String(err)}`;
      this.log.warn({ err, call: item.callId }, 'manifest not filed');
      return false;
    }
  }

  private async retrying(
    carrier: string,
    call: (client: ManifestServiceClient, cb: (err: Error | null, res: FileManifestResponse) => void) => void,
  ): Promise<FileManifestResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        const client = this.clients[this.calls++ % this.clients.length] as ManifestServiceClient;
        return await new Promise<FileManifestResponse>((resolve, reject) => {
          call(client, (err, res) => {
            if (err) reject(err);
            else resolve(res);
          });
        });
      } catch (err) {
        if (!isRetryable(err) || attempt >= this.opts.maxAttempts || this.opts.signal?.aborted === true) {
          throw err;
        }
        this.log.debug({ err, carrier, attempt }, 'manifest filing failed, retrying');
        await sleep(backoffDelay(DEFAULT_BACKOFF, attempt, this.opts.random), this.opts.signal);
      }
    }
  }
}
