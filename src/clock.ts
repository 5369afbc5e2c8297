// The wall clock with more digits than Date.now() has, for the times docker writes with
// nanoseconds (log lines, events). One clock, so that two readings never go backwards: the
// monotonic clock, anchored to the wall clock, and anchored again when the wall clock is set.

let offset = Date.now() - performance.now();

/** Milliseconds since the epoch, with a fraction (sub-microsecond digits are not exact). */
export function wallClockMs(): number {
  let t = offset + performance.now();
  const wall = Date.now();
  if (Math.abs(t - wall) > 50) {
    offset = wall - performance.now(); // the wall clock was set (or drifted): follow it
    t = offset + performance.now();
  }
  return t;
}

/** The same reading as whole milliseconds and the nanoseconds below them (0-999999). */
export function wallClockParts(): { ms: number; belowMs: number } {
  const t = wallClockMs();
  const ms = Math.floor(t);
  return { ms, belowMs: Math.min(999_999, Math.floor((t - ms) * 1e6)) };
}
