import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, refMatmul } from '../helpers/opcheck.js';

const cases: [string, number[], number[], boolean, boolean][] = [
  ['2x3 @ 3x4', [2, 3], [3, 4], false, false],
  ['odd 7x5 @ 5x9', [7, 5], [5, 9], false, false],
  ['1x1', [1, 1], [1, 1], false, false],
  ['transA', [5, 3], [5, 4], true, false],
  ['transB', [3, 5], [4, 5], false, true],
  ['both', [5, 3], [4, 5], true, true],
  ['batched', [2, 3, 4], [2, 4, 5], false, false],
  ['batched, broadcast b', [3, 2, 4], [4, 6], false, false],
  ['batched, broadcast a', [2, 4], [3, 4, 5], false, false],
  ['batched transB broadcast', [3, 2, 4], [6, 4], false, true],
  ['batched transA broadcast a', [4, 2], [3, 4, 5], true, false],
  ['k = 0', [3, 0], [0, 2], false, false],
  ['m = 0', [0, 3], [3, 2], false, false],
  ['odd 17x33 @ 33x9', [17, 33], [33, 9], false, false],
];

describe('matmul', () => {
  for (const [name, as, bs, tA, tB] of cases) {
    it(name, () => {
      checkOp({
        name: `matmul ${name}`,
        inputs: [{ shape: as }, { shape: bs }],
        fn: (a, b) => tb.matmul(a, b, { transposeA: tA, transposeB: tB }),
        ref: (a, b) => refMatmul(a, b, tA, tB),
        atol: 1e-4,
      });
    });
  }

  it('vector operands', () => {
    const v = tb.tensor([1, 2, 3]);
    const m = tb.tensor([[1, 0], [0, 1], [1, 1]]);
    expect(tb.matmul(v, m).arraySync()).toEqual([4, 5]);
    expect(tb.matmul(m, tb.tensor([1, 1])).arraySync()).toEqual([1, 1, 2]);
    expect(tb.matmul(v, v).arraySync()).toEqual(14);
  });

  it('portable GEMM matches OpenBLAS on a large product', () => {
    const a = tb.randn([300, 257], 0, 1, { seed: 3 });
    const b = tb.randn([257, 190], 0, 1, { seed: 4 });
    const fast = tb.matmul(a, b).dataSync();
    tb.setGemmBackend('portable');
    let slow: Float32Array | Int32Array;
    try {
      slow = tb.matmul(a, b).dataSync();
    } finally {
      if (tb.backendInfo().openblas) tb.setGemmBackend('openblas');
    }
    for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i]! - slow[i]!)).toBeLessThan(1e-3);
  });

  it('rejects bad shapes and types', () => {
    expectOpError(() => tb.matmul(tb.zeros([2, 3]), tb.zeros([4, 5])), 'matmul', /\[2,3\].*\[4,5\]/);
    expectOpError(() => tb.matmul(tb.zeros([2, 2, 3]), tb.zeros([3, 3, 4])), 'matmul', /batch/);
    expectOpError(() => tb.matmul(tb.zeros([2, 3]), 5 as unknown as tb.Tensor), 'matmul');
    expectOpError(() => tb.matmul(tb.zeros([2, 3], 'int32'), tb.zeros([3, 2])), 'matmul', /float32/);
    expectOpError(() => tb.matmul(tb.scalar(1), tb.zeros([3, 2])), 'matmul');
  });
});
