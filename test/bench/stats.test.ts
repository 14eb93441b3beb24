// The benchmarks' statistics helpers (bench/stats.ts).
import { describe, expect, it } from 'vitest';
import { median, paired } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('paired: the median difference and the rounds above, level and below, skipping a round missing either side', () => {
    const r = paired([90, 92, undefined, 80, 85.2], [88, 93, 70, 80, 85], 0.5);
    expect(r).toMatchObject({ above: 1, level: 2, below: 1, rounds: 4 });
    expect(r.median).toBeCloseTo(0.1);
    expect(paired([], [], 0.5).rounds).toBe(0);
  });
});
