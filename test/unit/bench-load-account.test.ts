// A scenario's load account: anything but the answers valid load must get fails the run, with the first reason.
import { describe, expect, it } from 'vitest';
import { BenchLoadError, LoadAccount } from '../../bench/harness/load-account.js';
import { EventStatus, type EventResult } from '../../proto/gen/portstream/v1/ingest.js';

const result = (eventId: string, status: EventStatus, field = '', reason = ''): EventResult => ({
  eventId,
  status,
  field,
  reason,
});

function failure(a: LoadAccount): BenchLoadError {
  try {
    a.check();
  } catch (e) {
    if (e instanceof BenchLoadError) return e;
    throw e;
  }
  throw new Error('check() passed');
}

describe('bench load account', () => {
  it('passes a load whose every event was accepted, and says what was offered and answered', () => {
    const a = new LoadAccount('ingest', 'events');
    a.offered = 3;
    for (const id of ['r-0', 'r-1', 'r-2']) a.event(result(id, EventStatus.ACCEPTED));
    expect(() => {
      a.check();
    }).not.toThrow();
    expect(a.summary()).toEqual({
      offered: 3,
      accepted: 3,
      duplicate: 0,
      rejected: 0,
      errors: 0,
      unanswered: 0,
    });
    expect(a.line()).toBe(
      'ingest: offered 3 events; answered 3: 3 accepted, 0 duplicate, 0 rejected, 0 errors',
    );
  });

  it('fails on a rejected event with its field and reason, the first one only', () => {
    const a = new LoadAccount('ingest', 'events');
    a.offered = 4;
    a.event(result('r-0', EventStatus.ACCEPTED));
    a.event(result('r-1', EventStatus.REJECTED, 'event_time', 'an ACTUAL event cannot be in the future'));
    a.event(result('r-2', EventStatus.REJECTED, 'facility', 'hict-operator may not publish for it'));
    a.event(result('r-3', EventStatus.ACCEPTED));
    const e = failure(a);
    expect(e.scenario).toBe('ingest');
    expect(e.reason).toBe('event r-1 was REJECTED: event_time an ACTUAL event cannot be in the future');
    expect(a.summary()).toMatchObject({ accepted: 2, rejected: 2, first_problem: e.reason });
  });

  it('fails on a duplicate (the load never sends an id twice) and on a status it does not know', () => {
    const dup = new LoadAccount('ingest.sustained', 'events');
    dup.offered = 1;
    dup.event(result('r-7', EventStatus.DUPLICATE));
    expect(failure(dup).reason).toMatch(/r-7 was answered DUPLICATE/);

    const odd = new LoadAccount('ingest', 'events');
    odd.offered = 1;
    odd.event(result('r-8', EventStatus.UNSPECIFIED));
    expect(failure(odd).reason).toMatch(/r-8 was answered with status 0/);
    expect(odd.summary().errors).toBe(1);
  });

  it('fails on items offered and never answered, and on failed calls', () => {
    const silent = new LoadAccount('clearance.background', 'events');
    silent.offered = 1000;
    for (let i = 0; i < 500; i++) silent.event(result(`b-${i}`, EventStatus.ACCEPTED));
    expect(failure(silent).reason).toBe('500 of 1000 events were never answered');
    expect(silent.line()).toMatch(/, 500 unanswered$/);

    const failed = new LoadAccount('status.grpc', 'reads');
    failed.offered = 10;
    failed.accepted = 8;
    failed.error('5 NOT_FOUND: container AAAU0000000 not found', 2);
    expect(failure(failed).reason).toBe('5 NOT_FOUND: container AAAU0000000 not found');
    expect(failed.summary()).toMatchObject({ errors: 2, unanswered: 0 });
  });
});
