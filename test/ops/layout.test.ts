import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, type Ref } from '../helpers/opcheck.js';

const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function unravel(i: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

function ravel(idx: number[], shape: number[]): number {
  let o = 0;
  for (let d = 0; d < shape.length; d++) o = o * shape[d]! + idx[d]!;
  return o;
}

/** out[idx] = at(idx) over every multi-index of outShape. */
function build(outShape: number[], at: (idx: number[]) => number): Ref {
  const data = new Float64Array(prod(outShape));
  for (let i = 0; i < data.length; i++) data[i] = at(unravel(i, outShape));
  return { shape: outShape, data };
}

const get = (x: Ref, idx: number[]): number => x.data[ravel(idx, x.shape)]!;

describe('transpose / permute', () => {
  const cases: [number[], number[] | undefined][] = [
    [[3, 5], undefined], [[1, 4], undefined], [[2, 3, 4], undefined], [[2, 3, 4], [0, 2, 1]], [[2, 3, 4], [1, 0, 2]],
    [[2, 3, 4], [2, 0, 1]], [[2, 3, 4], [1, 2, 0]], [[2, 3, 4], [0, 1, 2]], [[2, 3, 1, 5], [3, 1, 0, 2]],
    [[2, 1, 3, 2], [0, 2, 3, 1]], [[0, 3], [1, 0]], [[2, 0, 3], [2, 1, 0]], [[4], undefined], [[], undefined],
    [[2, 3, 4], [-1, 0, 1]],
    // tiled transposes (both planes >= 8), odd sizes, with a batch axis in front
    [[17, 9], undefined], [[2, 17, 9], [0, 2, 1]], [[9, 2, 10], [2, 1, 0]],
  ];
  for (const [shape, perm] of cases)
    it(`${JSON.stringify(shape)} perm ${JSON.stringify(perm)}`, () => {
      const p = (perm ?? shape.map((_, i) => shape.length - 1 - i)).map((a) => (a < 0 ? a + shape.length : a));
      checkOp({
        name: 'transpose',
        inputs: [{ shape }],
        fn: (x) => tb.transpose(x, perm),
        ref: (x) => build(p.map((a) => shape[a]!), (o) => {
          const idx = new Array<number>(shape.length);
          p.forEach((a, i) => { idx[a] = o[i]!; });
          return get(x, idx);
        }),
        atol: 0, rtol: 0,
      });
    });

  it('permute is transpose with an explicit perm; works on int32; large transposes match', () => {
    const x = tb.tensor([[1, 2, 3], [4, 5, 6]], undefined, 'int32');
    const y = x.permute([1, 0]);
    expect(y.dtype).toBe('int32');
    expect(y.arraySync()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(tb.tensor([[1, 2]]).transpose().arraySync()).toEqual([[1], [2]]);
    const big = tb.randn([64, 300, 70], 0, 1, { seed: 2 });
    const t = tb.transpose(big, [2, 0, 1]);
    const a = big.dataSync(), b = t.dataSync();
    let bad = 0;
    for (let i = 0; i < 64; i++)
      for (let j = 0; j < 300; j++)
        for (let k = 0; k < 70; k++) if (b[(k * 64 + i) * 300 + j] !== a[(i * 300 + j) * 70 + k]) bad++;
    expect(bad).toBe(0);
    const m = tb.tensor(Int32Array.from({ length: 37 * 41 }, (_, k) => k), [37, 41]);
    const mt = m.transpose().dataSync();
    for (let i = 0; i < 37; i++) for (let j = 0; j < 41; j++) if (mt[j * 37 + i] !== i * 41 + j) bad++;
    expect(bad).toBe(0);
  });

  it('errors', () => {
    const x = tb.zeros([2, 3, 4]);
    expectOpError(() => tb.transpose(x, [0, 1]), 'transpose', /rank 3/);
    expectOpError(() => tb.transpose(x, [0, 1, 1]), 'transpose', /not a permutation.*\[2,3,4\]/);
    expectOpError(() => tb.transpose(x, [0, 1, 3]), 'transpose', /not a permutation/);
    expectOpError(() => tb.transpose(x, [0, 1, 1.5]), 'transpose', /integers/);
    expectOpError(() => tb.transpose('x' as unknown as tb.Tensor), 'transpose', /Tensor/);
    expectOpError(() => tb.permute(x, undefined as unknown as number[]), 'permute', /required/);
    expectOpError(() => tb.permute(x, 'abc' as unknown as number[]), 'permute', /integers/);
  });
});

describe('slice', () => {
  const cases: [number[], number | number[], (number | number[])?][] = [
    [[7], 2, 3], [[7], 0, -1], [[7], 6], [[4, 5], [1, 2], [2, 3]], [[4, 5], [1], undefined], [[4, 5], [0, 1], [-1, 3]],
    [[3, 4, 5], [1, 0, 2], [2, 4, 2]], [[3, 4, 5], [0, 1, 1], [3, 2, -1]], [[3, 4, 5], [2, 3, 4], [1, 1, 1]],
    [[3, 4, 5], [1, 1, 1], [0, 2, 2]], [[2, 1, 3, 4], [1, 0, 1, 1], [1, 1, 2, 3]], [[0, 3], [0, 1], [0, 2]],
  ];
  for (const [shape, begin, size] of cases)
    it(`${JSON.stringify(shape)} begin ${JSON.stringify(begin)} size ${JSON.stringify(size)}`, () => {
      const b = typeof begin === 'number' ? [begin] : begin;
      const s = size === undefined ? [] : typeof size === 'number' ? [size] : size;
      const bb = shape.map((_, i) => b[i] ?? 0);
      const ss = shape.map((d, i) => ((s[i] ?? -1) === -1 ? d - bb[i]! : s[i]!));
      checkOp({
        name: 'slice',
        inputs: [{ shape }],
        fn: (x) => tb.slice(x, begin, size),
        ref: (x) => build(ss, (o) => get(x, o.map((v, i) => v + bb[i]!))),
        atol: 0, rtol: 0,
      });
    });

  it('int32 and method form', () => {
    expect(tb.tensor([[1, 2, 3], [4, 5, 6]], undefined, 'int32').slice([0, 1], [2, 2]).arraySync()).toEqual([[2, 3], [5, 6]]);
  });

  it('errors', () => {
    const x = tb.zeros([3, 4]);
    expectOpError(() => tb.slice(x, [2, 0], [2, 4]), 'slice', /out of bounds.*\[3,4\].*axis 0/);
    expectOpError(() => tb.slice(x, [0, 5]), 'slice', /out of bounds/);
    expectOpError(() => tb.slice(x, [-1, 0]), 'slice', /out of bounds/);
    expectOpError(() => tb.slice(x, [0, 0], [1, -2]), 'slice', /out of bounds/);
    expectOpError(() => tb.slice(x, [0, 0, 0]), 'slice', /more entries/);
    expectOpError(() => tb.slice(x, ['a'] as unknown as number[]), 'slice', /integers/);
    expectOpError(() => tb.slice(x, [0.5]), 'slice', /integers/);
    expectOpError(() => tb.slice({} as tb.Tensor, [0]), 'slice', /Tensor/);
  });
});

function refConcat(xs: Ref[], axis: number): Ref {
  const shape = xs[0]!.shape.slice();
  const a = axis < 0 ? axis + shape.length : axis;
  shape[a] = xs.reduce((s, x) => s + x.shape[a]!, 0);
  return build(shape, (o) => {
    let k = 0, i = o[a]!;
    while (i >= xs[k]!.shape[a]!) i -= xs[k++]!.shape[a]!;
    const idx = o.slice();
    idx[a] = i;
    return get(xs[k]!, idx);
  });
}

describe('concat / stack', () => {
  const cases: [number[][], number][] = [
    [[[2], [3]], 0], [[[2, 3], [4, 3]], 0], [[[2, 3], [2, 1], [2, 4]], 1], [[[2, 3], [2, 5]], -1],
    [[[2, 3, 4], [1, 3, 4]], 0], [[[2, 3, 4], [2, 2, 4]], 1], [[[2, 3, 4], [2, 3, 1], [2, 3, 2]], 2],
    [[[2, 0, 4], [2, 3, 4]], 1], [[[3, 2]], 0], [[[0, 2], [0, 2]], 1],
  ];
  for (const [shapes, axis] of cases)
    it(`concat ${JSON.stringify(shapes)} axis ${axis}`, () => {
      checkOp({
        name: 'concat',
        inputs: shapes.map((shape) => ({ shape })),
        fn: (...xs) => tb.concat(xs, axis),
        ref: (...xs) => refConcat(xs, axis),
        atol: 0, rtol: 0,
      });
    });

  const stacks: [number[], number, number][] = [[[3], 2, 0], [[3], 2, 1], [[2, 3], 3, 0], [[2, 3], 3, 1], [[2, 3], 2, 2], [[2, 3], 2, -1], [[], 3, 0], [[0, 2], 2, 1]];
  for (const [shape, n, axis] of stacks)
    it(`stack ${n} x ${JSON.stringify(shape)} axis ${axis}`, () => {
      const a = axis < 0 ? axis + shape.length + 1 : axis;
      checkOp({
        name: 'stack',
        inputs: Array.from({ length: n }, () => ({ shape })),
        fn: (...xs) => tb.stack(xs, axis),
        ref: (...xs) => {
          const out = shape.slice();
          out.splice(a, 0, n);
          return build(out, (o) => {
            const idx = o.slice();
            const [k] = idx.splice(a, 1);
            return get(xs[k!]!, idx);
          });
        },
        atol: 0, rtol: 0,
      });
    });

  it('gradient only for inputs that need it; int32 inputs', () => {
    const a = tb.tensor([[1, 2]]).requiresGrad_();
    const b = tb.tensor([[3, 4]]);
    tb.concat([a, b], 0).sum().backward();
    expect(a.grad!.arraySync()).toEqual([[1, 1]]);
    expect(b.grad).toBeNull();
    const i = tb.tensor([1, 2], undefined, 'int32');
    expect(tb.stack([i, i], 1).arraySync()).toEqual([[1, 1], [2, 2]]);
  });

  it('errors', () => {
    const a = tb.zeros([2, 3]);
    expectOpError(() => tb.concat([a, tb.zeros([3, 4])], 0), 'concat', /\[3,4\].*\[2,3\].*axis 0/);
    expectOpError(() => tb.concat([a, tb.zeros([2, 3, 1])], 0), 'concat', /does not match/);
    expectOpError(() => tb.concat([a, tb.zeros([2, 3], 'int32')]), 'concat', /dtype/);
    expectOpError(() => tb.concat([]), 'concat', /non-empty/);
    expectOpError(() => tb.concat([a, 1 as unknown as tb.Tensor]), 'concat', /tensors\[1\]/);
    expectOpError(() => tb.concat([tb.scalar(1), tb.scalar(2)]), 'concat', /scalars/);
    expectOpError(() => tb.concat([a, a], 2), 'concat', /out of range/);
    expectOpError(() => tb.stack([a, tb.zeros([3, 2])]), 'stack', /\[3,2\].*\[2,3\]/);
    expectOpError(() => tb.stack([a, a], 3), 'stack', /out of range/);
    expectOpError(() => tb.stack(a as unknown as tb.Tensor[]), 'stack', /array/);
    expectOpError(() => tb.stack([a, tb.zeros([2, 3], 'int32')]), 'stack', /dtype/);
  });
});

function refGather(x: Ref, idx: Ref, axis: number): Ref {
  const a = axis < 0 ? axis + x.shape.length : axis;
  const out = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
  const k = idx.shape.length;
  return build(out, (o) => {
    const i = idx.data[ravel(o.slice(a, a + k), idx.shape)]!;
    return get(x, [...o.slice(0, a), i, ...o.slice(a + k)]);
  });
}

describe('gather', () => {
  const cases: [number[], number[], number][] = [
    [[5], [3], 0], [[5, 3], [4], 0], [[5, 3], [2, 3], 0], [[2, 5, 3], [6], 1], [[2, 3, 5], [7], 2], [[2, 3, 5], [2, 2], -1],
    [[4, 3], [0], 0], [[4, 0], [3], 0], [[4, 3], [], 0], [[3, 2, 2, 2], [5], 3],
  ];
  for (const [shape, ishape, axis] of cases)
    it(`${JSON.stringify(shape)} indices ${JSON.stringify(ishape)} axis ${axis}`, () => {
      const dim = shape[axis < 0 ? axis + shape.length : axis]!;
      checkOp({
        name: 'gather',
        // repeated indices occur, so the scatter-add gradient is exercised
        inputs: [{ shape }, { shape: ishape, dtype: 'int32', gen: (_, r) => Math.floor(r() * dim) }],
        fn: (x, i) => tb.gather(x, i, axis),
        ref: (x, i) => refGather(x, i, axis),
        atol: 0, rtol: 0,
      });
    });

  it('repeated indices accumulate gradients; number[] and int32 x', () => {
    const x = tb.tensor([[1, 2], [3, 4], [5, 6]]).requiresGrad_();
    const y = tb.gather(x, [2, 0, 2]);
    expect(y.arraySync()).toEqual([[5, 6], [1, 2], [5, 6]]);
    y.sum().backward();
    expect(x.grad!.arraySync()).toEqual([[1, 1], [0, 0], [2, 2]]);
    expect(tb.tensor([7, 8, 9], undefined, 'int32').gather([[2], [0]]).arraySync()).toEqual([[9], [7]]);
    expect(tb.gather(tb.tensor([[1, 2], [3, 4]]), 1, 1).arraySync()).toEqual([2, 4]);
  });

  it('indices disposed before backward do not affect the gradient', () => {
    const x = tb.tensor([1, 2, 3]).requiresGrad_();
    const i = tb.tensor([2, 2], undefined, 'int32');
    const y = tb.gather(x, i);
    i.dispose();
    y.sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, 2]);
  });

  it('errors', () => {
    const x = tb.zeros([4, 3]);
    expectOpError(() => tb.gather(x, [0, 4]), 'gather', /indices\[1\] = 4 .*\[0, 4\).*\[4,3\]/);
    expectOpError(() => tb.gather(x, [-1]), 'gather', /-1/);
    expectOpError(() => tb.gather(x, [0, 3], 1), 'gather', /out of range/);
    expectOpError(() => tb.gather(x, tb.tensor([0, 1])), 'gather', /int32/);
    expectOpError(() => tb.gather(x, [0.5]), 'gather', /integers/);
    expectOpError(() => tb.gather(x, 'a' as unknown as number[]), 'gather', /indices/);
    expectOpError(() => tb.gather(x, [0], 2), 'gather', /out of range for rank 2/);
    expectOpError(() => tb.gather(tb.scalar(1), [0]), 'gather', /rank/);
    expectOpError(() => tb.gather(null as unknown as tb.Tensor, [0]), 'gather', /Tensor/);
  });
});

describe('oneHot', () => {
  it('forward over shapes', () => {
    const cases: [number[], number][] = [[[5], 3], [[2, 3], 4], [[0], 2], [[1], 1], [[3, 1, 2], 5]];
    for (const [shape, depth] of cases)
      checkOp({
        name: 'oneHot',
        inputs: [{ shape, dtype: 'int32', gen: (_, r) => Math.floor(r() * depth) }],
        fn: (i) => tb.oneHot(i, depth, 2.5, -1),
        ref: (i) => build([...shape, depth], (o) => (i.data[ravel(o.slice(0, -1), shape)] === o[o.length - 1] ? 2.5 : -1)),
        noGrad: true, atol: 0, rtol: 0,
      });
    const y = tb.oneHot([1, 0], 3);
    expect(y.dtype).toBe('float32');
    expect(y.arraySync()).toEqual([[0, 1, 0], [1, 0, 0]]);
  });

  it('errors', () => {
    expectOpError(() => tb.oneHot([0, 3], 3), 'oneHot', /indices\[1\] = 3 .*\[0, 3\)/);
    expectOpError(() => tb.oneHot([-1], 3), 'oneHot', /-1/);
    expectOpError(() => tb.oneHot(tb.tensor([0, 1]), 3), 'oneHot', /int32/);
    expectOpError(() => tb.oneHot([0], 0), 'oneHot', /depth/);
    expectOpError(() => tb.oneHot([0], 2.5), 'oneHot', /depth/);
    expectOpError(() => tb.oneHot([0], 2, 'a' as unknown as number), 'oneHot', /onValue/);
    expectOpError(() => tb.oneHot({} as unknown as number[], 2), 'oneHot', /indices/);
  });
});

describe('broadcastTo', () => {
  const cases: [number[], number[]][] = [
    [[3, 1], [2, 3, 4]], [[4], [3, 4]], [[], [2, 2]], [[2, 3], [2, 3]], [[1, 3, 1], [2, 3, 5]], [[1], [0]], [[2, 1], [2, 0]],
    [[1, 1], [3, 2]],
  ];
  for (const [from, to] of cases)
    it(`${JSON.stringify(from)} -> ${JSON.stringify(to)}`, () => {
      const lead = to.length - from.length;
      checkOp({
        name: 'broadcastTo',
        inputs: [{ shape: from }],
        fn: (x) => tb.broadcastTo(x, to),
        ref: (x) => build(to, (o) => get(x, from.map((d, i) => (d === 1 ? 0 : o[i + lead]!)))),
        atol: 0, rtol: 0,
      });
    });

  it('int32 and method form', () => {
    expect(tb.tensor([1, 2], undefined, 'int32').broadcastTo([2, 2]).arraySync()).toEqual([[1, 2], [1, 2]]);
  });

  it('errors', () => {
    const x = tb.zeros([2, 3]);
    expectOpError(() => tb.broadcastTo(x, [3, 3]), 'broadcastTo', /\[2,3\].*\[3,3\]/);
    expectOpError(() => tb.broadcastTo(x, [3]), 'broadcastTo', /cannot broadcast/);
    expectOpError(() => tb.broadcastTo(x, [2, -3]), 'broadcastTo', /non-negative/);
    expectOpError(() => tb.broadcastTo(x, 'a' as unknown as number[]), 'broadcastTo', /array/);
    expectOpError(() => tb.broadcastTo(7 as unknown as tb.Tensor, [2]), 'broadcastTo', /Tensor/);
  });
});

describe('pad', () => {
  const cases: [number[], [number, number][], number][] = [
    [[3], [[1, 2]], 0], [[2, 3], [[1, 0], [2, 1]], 0.5], [[2, 3, 2], [[0, 0], [1, 1], [0, 3]], -2], [[2, 2], [[0, 0], [0, 0]], 0],
    [[0, 2], [[1, 1], [0, 1]], 3], [[1, 2, 1, 2], [[1, 0], [0, 1], [2, 2], [0, 0]], 0],
  ];
  for (const [shape, paddings, value] of cases)
    it(`${JSON.stringify(shape)} ${JSON.stringify(paddings)}`, () => {
      checkOp({
        name: 'pad',
        inputs: [{ shape }],
        fn: (x) => tb.pad(x, paddings, value),
        ref: (x) => build(shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]), (o) => {
          const idx = o.map((v, i) => v - paddings[i]![0]);
          return idx.every((v, i) => v >= 0 && v < shape[i]!) ? get(x, idx) : value;
        }),
        atol: 0, rtol: 0,
      });
    });

  it('int32 and method form', () => {
    expect(tb.tensor([1, 2], undefined, 'int32').pad([[1, 1]], 9).arraySync()).toEqual([9, 1, 2, 9]);
  });

  it('errors', () => {
    const x = tb.zeros([2, 3]);
    expectOpError(() => tb.pad(x, [[1, 1]]), 'pad', /per axis.*\[2,3\]/);
    expectOpError(() => tb.pad(x, [[1, 1], [-1, 0]]), 'pad', /non-negative/);
    expectOpError(() => tb.pad(x, [[1, 1], [1]] as unknown as [number, number][]), 'pad', /pair/);
    expectOpError(() => tb.pad(x, [[1, 1], [1, 1]], 'a' as unknown as number), 'pad', /value/);
    expectOpError(() => tb.pad([1] as unknown as tb.Tensor, [[1, 1]]), 'pad', /Tensor/);
  });
});
