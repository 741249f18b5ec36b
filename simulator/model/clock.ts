// Compressed simulated time. The simulated span of a whole run is anchored to end at the wall-clock
// start, so a simulated instant x is released at wall time wall(x) >= x: ACTUAL events are then never
// in the future when sent, however large timeScale is, while ESTIMATED/PLANNED times may be ahead.

export interface SimClock {
  /** First simulated instant (ms since epoch). */
  readonly simStartMs: number;
  /** Simulated ms covered by the run. */
  readonly simSpanMs: number;
  readonly wallStartMs: number;
  /** Simulated ms per wall-clock ms (720 = a port day in two minutes). */
  readonly timeScale: number;
}

/** Anchors a run of wallDurationMs at timeScale so that it ends (in simulated time) at wallStartMs. */
export function anchorClock(wallStartMs: number, wallDurationMs: number, timeScale: number): SimClock {
  if (!(timeScale >= 1)) throw new RangeError('timeScale must be at least 1');
  const simSpanMs = Math.round(wallDurationMs * timeScale);
  return { simStartMs: wallStartMs - simSpanMs, simSpanMs, wallStartMs, timeScale };
}

/** Wall-clock instant at which the simulated instant simMs is due. */
export function wallTimeOf(clock: SimClock, simMs: number): number {
  return clock.wallStartMs + (simMs - clock.simStartMs) / clock.timeScale;
}
