// Clocks a unit test steps, for code that reads them itself: the wall clock (Date.now) and the
// monotonic one (performance.now). Each is installed before the component under test is built
// (which may hold on to the function) and restored when the test ends.
import type { Test } from 'tap';

/** Date.now, stepped by the test (a wall clock set forward or back). */
export function wallClock(t: Test): { step(ms: number): void } {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  t.teardown(() => {
    Date.now = real;
  });
  return { step: (ms) => void (offset += ms) };
}

/** performance.now, advanced by the test (time passing, without waiting for it). */
export function monotonicClock(t: Test): { advance(ms: number): void } {
  const real = performance.now.bind(performance);
  let offset = 0;
  Object.defineProperty(performance, 'now', { value: () => real() + offset, configurable: true, writable: true });
  t.teardown(() => {
    Object.defineProperty(performance, 'now', { value: real, configurable: true, writable: true });
  });
  return { advance: (ms) => void (offset += ms) };
}
