// The bench's generated load: every sequence number a run can reach maps to a valid event with its own id and
// container number, its time inside the gateway's window for as long as the run lasts. The mappings are pure, so
// their boundaries are tested instead of generating tens of millions of events.
import { describe, expect, it } from 'vitest';
import {
  benchContainer,
  benchEvent,
  benchLoad,
  containerIndex,
  CONTAINER_SPACE,
  CONTAINERS_PER_LOAD,
  EVENTS_PER_LOAD,
  eventTimeMs,
  LOAD_SLOTS,
  STEPS_PER_CONTAINER,
  TIME_LEAD_MS,
  TIME_SPAN_MS,
} from '../../bench/harness/events.js';
import { checkContainerNumber } from '../../core/identifiers/index.js';
import { validateEvent, type EventLimits } from '../../core/validation/event.js';
import { EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';

// The gateway's defaults (core/config.ts): 300 s of skew ahead, 366 days back.
const LIMITS: EventLimits = {
  maxFutureSkewMs: 300_000,
  maxPlanAheadMs: 366 * 86_400_000,
  maxAgeMs: 366 * 86_400_000,
};
const START = Date.UTC(2026, 10, 29, 22, 0, 0);
const DAY = 86_400_000;
const TWENTY_MILLION = 20_000_000;
const TIME_SLOTS = TIME_SPAN_MS / STEPS_PER_CONTAINER;

/** The inverse of benchContainer: owner code (base 26) and serial back to the index. */
function indexOf(containerNumber: string): number {
  const owner = [0, 1, 2].reduce((k, i) => k * 26 + containerNumber.charCodeAt(i) - 65, 0);
  return owner * 1_000_000 + Number(containerNumber.slice(4, 10));
}

// Sequence numbers where something turns over: the first events, a container's steps, the time span's wrap,
// twenty million, and the last a load may use.
const SEQ_BOUNDARIES = [
  0,
  1,
  2,
  3,
  TIME_SLOTS * STEPS_PER_CONTAINER - 1,
  TIME_SLOTS * STEPS_PER_CONTAINER,
  TIME_SLOTS * STEPS_PER_CONTAINER + 2,
  1_000_000 * STEPS_PER_CONTAINER - 1,
  1_000_000 * STEPS_PER_CONTAINER,
  TWENTY_MILLION - 1,
  TWENTY_MILLION,
  EVENTS_PER_LOAD - 3,
  EVENTS_PER_LOAD - 1,
];

describe('bench event generator', () => {
  it('maps boundary and sampled sequence numbers of every load to events the gateway accepts', () => {
    const seqs = [...SEQ_BOUNDARIES];
    // A deterministic spread over the first twenty million as well.
    for (let i = 0; i < 2000; i++) seqs.push(i * (TWENTY_MILLION / 2000) + (i % 3));
    for (let slot = 0; slot < LOAD_SLOTS; slot++) {
      const load = benchLoad('run1a2b3c', slot, START);
      for (const seq of seqs) {
        const ev = benchEvent(load, seq);
        // At the start of the run, a day into it and 360 days into it: the load stays valid.
        for (const now of [START, START + DAY, START + 360 * DAY]) {
          expect(validateEvent(ev, now, LIMITS), `slot ${slot} seq ${seq}`).toBeUndefined();
        }
        expect(ev.eventId).toBe(`run1a2b3c-${seq}`);
      }
    }
  });

  it('keeps every event time inside the span before the load started, however far the sequence runs', () => {
    const load = benchLoad('r', 0, START);
    const lo = START - TIME_LEAD_MS - TIME_SPAN_MS;
    const hi = START - TIME_LEAD_MS;
    for (const seq of SEQ_BOUNDARIES) {
      const t = eventTimeMs(load, seq);
      expect(t).toBeGreaterThanOrEqual(lo);
      expect(t).toBeLessThan(hi);
    }
    // The extremes of the span: the first slot's first step and the last slot's last step.
    expect(eventTimeMs(load, 0)).toBe(lo);
    expect(eventTimeMs(load, TIME_SLOTS * STEPS_PER_CONTAINER - 1)).toBe(hi - 1);
    // After the wrap the span starts again (a new container, so nothing goes back in time for any container).
    expect(eventTimeMs(load, TIME_SLOTS * STEPS_PER_CONTAINER)).toBe(lo);
  });

  it("orders each container's discharge, yard move and gate-out in time, across the span's wrap", () => {
    const load = benchLoad('r', 3, START);
    for (const first of [0, (TIME_SLOTS - 1) * 3, TIME_SLOTS * 3, TWENTY_MILLION - 2, EVENTS_PER_LOAD - 3]) {
      const c = first - (first % STEPS_PER_CONTAINER);
      const events = [0, 1, 2].map((s) => benchEvent(load, c + s));
      const numbers = new Set(
        events.map((e) => (e.payload?.$case === 'equipment' ? e.payload.value.containerNumber : '')),
      );
      expect(numbers.size).toBe(1);
      expect(events.map((e) => (e.payload?.$case === 'equipment' ? e.payload.value.type : 0))).toEqual([
        EquipmentEventType.DISC,
        EquipmentEventType.RMVD,
        EquipmentEventType.GTOT,
      ]);
      const times = events.map((e) => e.eventTime?.getTime() ?? 0);
      expect(times[0]).toBeLessThan(times[1] ?? 0);
      expect(times[1]).toBeLessThan(times[2] ?? 0);
    }
  });

  it('gives every container index its own valid number: the mapping inverts at the boundaries', () => {
    const indices = [
      0,
      1,
      999_999,
      1_000_000,
      Math.floor(TWENTY_MILLION / STEPS_PER_CONTAINER),
      CONTAINERS_PER_LOAD - 1,
      CONTAINERS_PER_LOAD,
      CONTAINER_SPACE - 1,
    ];
    for (let i = 0; i < 5000; i++) indices.push(Math.floor((i / 5000) * CONTAINER_SPACE) + (i % 7));
    for (const n of indices) {
      const number = benchContainer(n);
      expect(checkContainerNumber(number), number).toBeUndefined();
      expect(indexOf(number), number).toBe(n);
    }
    // Consecutive indices where the old generator wrapped (eight owners of a million serials) stay apart.
    expect(benchContainer(8_000_000)).not.toBe(benchContainer(0));
  });

  it('has no two containers of a run share a number: loads have disjoint ranges, none wraps', () => {
    // containerIndex is first + seq/3 with first = slot * CONTAINERS_PER_LOAD: a load's indices are one
    // increasing run, so its last index below the next load's first proves the ranges disjoint.
    for (let slot = 0; slot < LOAD_SLOTS; slot++) {
      const load = benchLoad('r', slot, START);
      const first = containerIndex(load, 0);
      const last = containerIndex(load, EVENTS_PER_LOAD - 1);
      expect(first).toBe(slot * CONTAINERS_PER_LOAD);
      expect(last).toBe(first + CONTAINERS_PER_LOAD - 1);
      expect(last).toBeLessThan(CONTAINER_SPACE);
      if (slot + 1 < LOAD_SLOTS) expect(last).toBeLessThan(containerIndex(benchLoad('r', slot + 1), 0));
    }
    // And for real, over the first 300,000 events of two loads: 200,000 distinct numbers.
    const seen = new Set<string>();
    for (const slot of [0, 1]) {
      const load = benchLoad('r', slot, START);
      for (let seq = 0; seq < 300_000; seq += STEPS_PER_CONTAINER)
        seen.add(benchContainer(containerIndex(load, seq)));
    }
    expect(seen.size).toBe(200_000);
  });

  it('refuses a sequence number or slot beyond its range instead of wrapping', () => {
    const load = benchLoad('r', 0, START);
    expect(() => benchEvent(load, EVENTS_PER_LOAD)).toThrow(RangeError);
    expect(() => eventTimeMs(load, -1)).toThrow(RangeError);
    expect(() => containerIndex(load, 1.5)).toThrow(RangeError);
    expect(() => benchLoad('r', LOAD_SLOTS)).toThrow(RangeError);
    expect(() => benchContainer(CONTAINER_SPACE)).toThrow(RangeError);
  });
});
