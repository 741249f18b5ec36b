// What a scenario's load offered and what the system answered. The bench's load is valid by construction, so
// any refusal, error or status it cannot expect means the figures measure something else than intended (a
// rejection is cheaper than a write): the run fails with the first reason instead of reporting them.
import { EventStatus, type EventResult } from '../../proto/gen/portstream/v1/ingest.js';

export class BenchLoadError extends Error {
  constructor(
    readonly scenario: string,
    readonly reason: string,
  ) {
    super(`${scenario}: the load was not answered as valid load must be: ${reason}`);
    this.name = 'BenchLoadError';
  }
}

export interface LoadSummary {
  offered: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  /** Answers that are neither accepted, duplicate nor rejected (an unknown status, a failed call). */
  errors: number;
  /** Offered but never answered. */
  unanswered: number;
  first_problem?: string;
}

export class LoadAccount {
  offered = 0;
  accepted = 0;
  duplicate = 0;
  rejected = 0;
  errors = 0;
  firstProblem: string | undefined;

  constructor(
    readonly scenario: string,
    /** What one offered item is, for the printed line: "events", "declarations", "reads". */
    readonly unit: string,
  ) {}

  get answered(): number {
    return this.accepted + this.duplicate + this.rejected + this.errors;
  }

  problem(reason: string): void {
    this.firstProblem ??= reason;
  }

  /** One event's answer from the gateway. Fresh ids are never duplicates: DUPLICATE means ids collided. */
  event(r: EventResult): void {
    switch (r.status) {
      case EventStatus.ACCEPTED:
        this.accepted++;
        return;
      case EventStatus.DUPLICATE:
        this.duplicate++;
        this.problem(`event ${r.eventId} was answered DUPLICATE, but no id is sent twice`);
        return;
      case EventStatus.REJECTED:
        this.rejected++;
        this.problem(`event ${r.eventId} was REJECTED: ${r.field} ${r.reason}`);
        return;
      default:
        this.errors++;
        this.problem(`event ${r.eventId} was answered with status ${r.status}`);
    }
  }

  /** A call or stream that failed: `count` offered items it leaves unanswered are counted as errors. */
  error(reason: string, count = 1): void {
    this.errors += count;
    this.problem(reason);
  }

  summary(): LoadSummary {
    const unanswered = Math.max(0, this.offered - this.answered);
    const first =
      this.firstProblem ??
      (unanswered > 0 ? `${unanswered} of ${this.offered} ${this.unit} were never answered` : undefined);
    return {
      offered: this.offered,
      accepted: this.accepted,
      duplicate: this.duplicate,
      rejected: this.rejected,
      errors: this.errors,
      unanswered,
      ...(first === undefined ? {} : { first_problem: first }),
    };
  }

  /** "ingest: offered 1,500 events; answered 1,500: 1,500 accepted, 0 duplicate, 0 rejected, 0 errors". */
  line(): string {
    const s = this.summary();
    const n = (x: number): string => x.toLocaleString('en-US');
    return (
      `${this.scenario}: offered ${n(s.offered)} ${this.unit}; answered ${n(this.answered)}: ` +
      `${n(s.accepted)} accepted, ${n(s.duplicate)} duplicate, ${n(s.rejected)} rejected, ` +
      `${n(s.errors)} errors` +
      (s.unanswered > 0 ? `, ${n(s.unanswered)} unanswered` : '')
    );
  }

  /** Throws BenchLoadError with the first reason when any offered item was not answered as valid load. */
  check(): void {
    const first = this.summary().first_problem;
    if (first !== undefined) throw new BenchLoadError(this.scenario, first);
  }

  /** The account another process kept (its summary), to check and print here. */
  static fromSummary(scenario: string, unit: string, s: LoadSummary): LoadAccount {
    const a = new LoadAccount(scenario, unit);
    a.offered = s.offered;
    a.accepted = s.accepted;
    a.duplicate = s.duplicate;
    a.rejected = s.rejected;
    a.errors = s.errors;
    a.firstProblem = s.first_problem;
    return a;
  }
}
