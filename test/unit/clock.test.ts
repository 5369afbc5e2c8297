// The nanosecond wall clock of log lines and events: never backwards, close to Date.now().
import { expect, test } from "bun:test";
import { wallClockMs, wallClockParts } from "../../src/clock";
import { nanoTime } from "../../src/containers/logs";

test("a million readings never go backwards and stay within 50 ms of Date.now()", () => {
  let last = -Infinity;
  let backwards = 0;
  let far = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const t = wallClockMs();
    if (t < last) backwards++;
    last = t;
    if (i % 1000 === 0 && Math.abs(t - Date.now()) > 50) far++;
  }
  expect({ backwards, far }).toEqual({ backwards: 0, far: 0 });
});

test("parts: whole milliseconds and 0-999999 ns; log times in RFC 3339 with nine digits, in order", () => {
  const { ms, belowMs } = wallClockParts();
  expect(Number.isInteger(ms) && Number.isInteger(belowMs) && belowMs >= 0 && belowMs < 1e6).toBe(true);
  const stamps = Array.from({ length: 10_000 }, nanoTime);
  for (const s of stamps) expect(s).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  expect([...stamps].sort()).toEqual(stamps); // same length and format: text order is time order
});
