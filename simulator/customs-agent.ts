// The customs-side clients: brokers submit declarations (unary, with a deadline, retried while the
// service is unavailable) and, for yellow and red decisions, an officer records the document check or
// inspection result after the simulated delay. Concurrency is bounded so a slow service slows the run. Given
// several gateways, calls go to them in turn and a retry goes to the next one.
import type { Metadata } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Channel } from '../proto/gen/portstream/v1/customs.js';
import type {
  CustomsServiceClient,
  RecordInspectionResultResponse,
  SubmitDeclarationResponse,
} from '../proto/gen/portstream/v1/customs.js';
import type { SimDeclarationItem } from './model/types.js';
import { backoffDelay, DEFAULT_BACKOFF, grpcCode, isRetryable, sleep } from './retry.js';
import { recordLatency } from './stats.js';
import type { SimulationStats } from './stats.js';

export interface CustomsAgentOptions {
  readonly deadlineMs: number;
  readonly maxInFlight: number;
  readonly maxAttempts: number;
  /** Simulated ms per wall ms: scales inspection delays. */
  readonly timeScale: number;
  readonly random: () => number;
  readonly signal?: AbortSignal;
  /**
   * What a declaration waits for before it is submitted (the filing of the manifests holding its bills), or
   * undefined when it need not wait.
   */
  readonly before?: (item: SimDeclarationItem) => Promise<unknown> | undefined;
}

type Unary<Res> = (client: CustomsServiceClient, cb: (err: Error | null, res: Res) => void) => void;

export class CustomsAgent {
  private inFlight = 0;
  private readonly tasks = new Set<Promise<void>>();
  private readonly wakers: (() => void)[] = [];
  private readonly clients: readonly CustomsServiceClient[];
  private calls = 0;

  constructor(
    client: CustomsServiceClient | readonly CustomsServiceClient[],
    private readonly metadata: Metadata,
    private readonly stats: SimulationStats,
    private readonly log: Logger,
    private readonly opts: CustomsAgentOptions,
  ) {
    this.clients = Array.isArray(client) ? client : [client as CustomsServiceClient];
    if (this.clients.length === 0) throw new RangeError('CustomsAgent needs at least one gateway client');
  }

  /**
   * Starts a submission once a slot is free; the returned promise resolves when it has started. A declaration
   * that must wait (for its manifest) waits outside the slots and without holding up the caller, so a slow filing
   * delays only its own call's declarations, not the terminals' events.
   */
  async submit(item: SimDeclarationItem): Promise<void> {
    const wait = this.opts.before?.(item);
    if (wait === undefined) {
      await this.start(item);
      return;
    }
    const deferred: Promise<void> = wait
      .then(() => this.start(item))
      .finally(() => this.tasks.delete(deferred));
    this.tasks.add(deferred);
  }

  private async start(item: SimDeclarationItem): Promise<void> {
    while (this.inFlight >= this.opts.maxInFlight) await new Promise<void>((r) => this.wakers.push(r));
    this.inFlight++;
    const task = this.handle(item).finally(() => {
      this.inFlight--;
      this.tasks.delete(task);
      this.wakers.shift()?.();
    });
    this.tasks.add(task);
  }

  /** Waits for every submission and pending inspection (inspections are skipped once aborted). */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  private async handle(item: SimDeclarationItem): Promise<void> {
    const d = item.declaration;
    const started = Date.now();
    let res: SubmitDeclarationResponse;
    try {
      res = await this.retrying((client, cb) =>
        client.submitDeclaration({ declaration: d }, this.metadata, this.deadline(), cb),
      );
    } catch (err) {
      if (grpcCode(err) !== status.ALREADY_EXISTS) {
        this.stats.declarationsFailed++;
        this.stats.firstDeclarationFailure ??= `${d.declarationNumber}: ${String(err)}`;
        this.log.warn({ err, declaration: d.declarationNumber }, 'declaration not submitted');
      }
      return;
    }
    this.stats.declarationsSubmitted++;
    this.stats.ledger?.submitted.add(d.declarationNumber);
    recordLatency(this.stats, Date.now() - started);
    if (
      item.unmanifestedBills.length === 0 &&
      res.decision?.rules.some((r) => r.code === 'CARGO_NOT_MANIFESTED') === true
    ) {
      this.stats.unexpectedNotManifested++;
    }
    const channel = res.decision?.channel;
    if (channel === Channel.GREEN) this.stats.decisions.green++;
    else if (channel === Channel.YELLOW) this.stats.decisions.yellow++;
    else if (channel === Channel.RED) this.stats.decisions.red++;
    else this.stats.decisions.other++;
    if (channel !== Channel.YELLOW && channel !== Channel.RED) return;
    // The inspection happens hours later in simulated time: wait for it outside the submission slot, or a few
    // dozen held declarations would occupy every slot and stall the whole run.
    const inspection = this.inspect(item).finally(() => this.tasks.delete(inspection));
    this.tasks.add(inspection);
  }

  private async inspect(item: SimDeclarationItem): Promise<void> {
    const d = item.declaration;
    await sleep(item.inspectionDelayMs / this.opts.timeScale, this.opts.signal);
    if (this.opts.signal?.aborted === true) return;
    // Whether an attempt went unanswered: its result may have been recorded although the call then failed.
    const seen = { unanswered: false };
    try {
      await this.retrying<RecordInspectionResultResponse>(
        (client, cb) =>
          client.recordInspectionResult(
            {
              declarationNumber: d.declarationNumber,
              outcome: item.inspectionOutcome,
              inspector: 'HQ-HP-KV3',
              remarks: item.reasons.join('; '),
            },
            this.metadata,
            this.deadline(),
            cb,
          ),
        () => {
          seen.unanswered = true;
        },
      );
      this.stats.inspectionsRecorded++;
      this.stats.ledger?.inspected.add(d.declarationNumber);
    } catch (err) {
      if (seen.unanswered) this.stats.ledger?.inspectionUnconfirmed.add(d.declarationNumber);
      this.log.warn(
        { err, declaration: d.declarationNumber, unanswered: seen.unanswered },
        'inspection result not recorded',
      );
    }
  }

  private deadline(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.opts.deadlineMs) };
  }

  /** Calls until answered; onRetryable hears of each attempt that failed in a way a retry may follow. */
  private async retrying<Res>(call: Unary<Res>, onRetryable?: () => void): Promise<Res> {
    for (let attempt = 1; ; attempt++) {
      try {
        const client = this.clients[this.calls++ % this.clients.length] as CustomsServiceClient;
        return await new Promise<Res>((resolve, reject) => {
          call(client, (err, res) => {
            if (err) reject(err);
            else resolve(res);
          });
        });
      } catch (err) {
        if (isRetryable(err)) onRetryable?.();
        if (!isRetryable(err) || attempt >= this.opts.maxAttempts || this.opts.signal?.aborted === true)
          throw err;
        await sleep(backoffDelay(DEFAULT_BACKOFF, attempt, this.opts.random), this.opts.signal);
      }
    }
  }
}
