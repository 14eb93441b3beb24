import { describe, expect, it } from 'vitest';
import { normalize, toCategorical, transforms } from '../../lib/data/index.js';
import { tensor } from '../../lib/tensor/creation.js';
import { TensorboltError } from '../../lib/tensor/errors.js';
import { Random } from '../../lib/tensor/random.js';

const { compose, randomRotation, randomShift, rotateImage, shiftImage } = transforms;

function expectErr(fn: () => unknown, op: string, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TensorboltError);
  expect((err as TensorboltError).op).toBe(op);
  expect((err as Error).message).toMatch(re);
}

/** An (h, w, c) image that is zero except `value` at (y, x) in every channel. */
function dot(h: number, w: number, c: number, y: number, x: number, value = 1): Float32Array {
  const img = new Float32Array(h * w * c);
  for (let ch = 0; ch < c; ch++) img[(y * w + x) * c + ch] = value + ch;
  return img;
}

/** (y, x) of the brightest pixel of channel 0. */
function argmax2d(img: Float32Array, w: number, c: number): [number, number] {
  let best = 0;
  for (let i = 0; i < img.length; i += c) if (img[i]! > img[best]!) best = i;
  const p = best / c;
  return [Math.floor(p / w), p % w];
}

describe('toCategorical', () => {
  it('one-hot encodes tensors, arrays and Int32Arrays', () => {
    const t = toCategorical(tensor(Int32Array.of(2, 0, 1, 2), [4], 'int32'), 3);
    expect(t.dtype).toBe('float32');
    expect(t.arraySync()).toEqual([[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(toCategorical([1, 0], 2).arraySync()).toEqual([[0, 1], [1, 0]]);
    expect(toCategorical(Int32Array.of(3), 5).arraySync()).toEqual([[0, 0, 0, 1, 0]]);
    expect(toCategorical([], 3).shape).toEqual([0, 3]);
  });

  it('infers numClasses and drops a trailing axis of 1', () => {
    expect(toCategorical([0, 3]).shape).toEqual([2, 4]);
    expect(toCategorical(tensor([[1], [0]], [2, 1], 'int32'), 2).arraySync()).toEqual([[0, 1], [1, 0]]);
    expect(toCategorical(tensor([[1, 0]], [1, 2], 'int32'), 2).shape).toEqual([1, 2, 2]);
  });

  it('rejects labels out of range, non-integers and bad numClasses', () => {
    expectErr(() => toCategorical([0, 1, 10, 2], 10), 'toCategorical', /labels\[2\] = 10 is outside \[0, 10\)/);
    expectErr(() => toCategorical([-1], 3), 'toCategorical', /labels\[0\] = -1 is outside/);
    expectErr(() => toCategorical([0.5], 3), 'toCategorical', /labels\[0\] = 0.5 is not an integer/);
    expectErr(() => toCategorical([0], 0), 'toCategorical', /numClasses must be a positive integer, got 0/);
    expectErr(() => toCategorical('x' as never, 3), 'toCategorical', /labels must be/);
  });
});

describe('normalize', () => {
  it('per channel on the last axis, and with scalars', () => {
    const x = tensor([[[1, 10], [3, 30]]], [1, 2, 2]);
    expect(normalize(x, [1, 10], [2, 10]).arraySync()).toEqual([[[0, 0], [1, 2]]]);
    expect(normalize(x, 1, 2).arraySync()).toEqual([[[0, 4.5], [1, 14.5]]]);
    expect(x.arraySync()).toEqual([[[1, 10], [3, 30]]]); // input untouched
    const i = normalize(tensor(Int32Array.of(2, 4), [2], 'int32'), 2, 2);
    expect(i.dtype).toBe('float32');
    expect(Array.from(i.f32('t'))).toEqual([0, 1]);
  });

  it('rejects mismatched channels and a zero std', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expectErr(() => normalize(x, [0, 0], [1, 1]), 'normalize', /2 channel statistics for input \[2,3\] with 3 channels/);
    expectErr(() => normalize(x, [0, 0, 0], [1, 0, 1]), 'normalize', /std\[1\] = 0/);
    expectErr(() => normalize(x, [0, 0], [1]), 'normalize', /2 means but 1 standard deviations/);
  });

  it('transforms.normalize does the same per sample', () => {
    const f = transforms.normalize({ mean: [1, 10], std: [2, 10] });
    expect(Array.from(f(Float32Array.of(1, 10, 3, 30), [1, 2, 2]))).toEqual([0, 0, 1, 2]);
    expectErr(() => f(new Float32Array(3), [1, 1, 3]), 'transforms.normalize', /2 means for 3 channels/);
  });
});

describe('shiftImage / randomShift', () => {
  it('moves a single bright pixel by exactly (dy, dx), in every channel', () => {
    const img = dot(6, 7, 2, 2, 3);
    for (const [dy, dx] of [[0, 0], [1, 0], [0, -2], [3, 3], [-2, 1]] as const) {
      const out = shiftImage(img, [6, 7, 2], dy, dx);
      expect(out.length).toBe(img.length);
      const expected = dot(6, 7, 2, 2 + dy, 3 + dx);
      expect(Array.from(out)).toEqual(Array.from(expected));
    }
  });

  it('fills uncovered pixels and drops pixels shifted off the image', () => {
    const img = new Float32Array(9).fill(1);
    expect(Array.from(shiftImage(img, [3, 3, 1], 1, -1, -5))).toEqual([-5, -5, -5, 1, 1, -5, 1, 1, -5]);
    expect(Array.from(shiftImage(img, [3, 3, 1], 0, 3))).toEqual(new Array(9).fill(0));
    expect(Array.from(shiftImage(dot(3, 3, 1, 0, 0), [3, 3, 1], -1, 0))).toEqual(new Array(9).fill(0));
  });

  it('draws every shift in [-maxShift, maxShift] and no other, repeatably for a seed', () => {
    const shape = [9, 9, 1];
    const img = dot(9, 9, 1, 4, 4);
    const seen = new Set<string>();
    const t = randomShift({ maxShift: 2, seed: 5 });
    const moves: string[] = [];
    for (let k = 0; k < 400; k++) {
      const [y, x] = argmax2d(t(img, shape), 9, 1);
      expect(Math.abs(y - 4)).toBeLessThanOrEqual(2);
      expect(Math.abs(x - 4)).toBeLessThanOrEqual(2);
      seen.add(`${y - 4},${x - 4}`);
      moves.push(`${y - 4},${x - 4}`);
    }
    expect(seen.size).toBe(25);
    const again = randomShift({ maxShift: 2, seed: 5 });
    expect(moves.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => argmax2d(again(img, shape), 9, 1)).map(([y, x]) => `${y - 4},${x - 4}`));
  });

  it('a fractional maxShift is a fraction of the size; [dy, dx] sets each axis', () => {
    const img = dot(10, 10, 1, 5, 5);
    const rng = new Random(1);
    const frac = randomShift({ maxShift: 0.1, rng }); // 1 pixel
    const vert = randomShift({ maxShift: [3, 0], rng });
    for (let k = 0; k < 100; k++) {
      const [y, x] = argmax2d(frac(img, [10, 10, 1]), 10, 1);
      expect(Math.max(Math.abs(y - 5), Math.abs(x - 5))).toBeLessThanOrEqual(1);
      const [vy, vx] = argmax2d(vert(img, [10, 10, 1]), 10, 1);
      expect(vx).toBe(5);
      expect(Math.abs(vy - 5)).toBeLessThanOrEqual(3);
    }
  });

  it('rejects bad options and images', () => {
    expectErr(() => randomShift({ maxShift: -1 }), 'randomShift', /maxShift/);
    expectErr(() => randomShift({ maxShift: 1.5 }), 'randomShift', /maxShift/);
    expectErr(() => shiftImage(new Float32Array(8), [3, 3, 1], 0, 0), 'shiftImage', /8 values does not fit shape \[3,3,1\]/);
    expectErr(() => shiftImage(new Float32Array(9), [9, 1], 0, 0), 'shiftImage', /expected an image shape \[H, W, C\]/);
    expectErr(() => shiftImage(new Float32Array(9), [3, 3, 1], 0.5, 0), 'shiftImage', /integers/);
    const buf = new Float32Array(9);
    expectErr(() => shiftImage(buf, [3, 3, 1], 1, 0, 0, buf), 'shiftImage', /overlap/);
  });
});

describe('rotateImage / randomRotation', () => {
  const rnd = (n: number, seed: number) => {
    const r = new Random(seed);
    return new Float32Array(n).map(() => r.uniform());
  };

  it('0 degrees is the identity, bilinear and nearest', () => {
    const img = rnd(7 * 6 * 3, 1);
    expect(Array.from(rotateImage(img, [7, 6, 3], 0))).toEqual(Array.from(img));
    expect(Array.from(rotateImage(img, [7, 6, 3], 0, { interpolation: 'nearest' }))).toEqual(Array.from(img));
  });

  it('quarter turns move pixels exactly (counter-clockwise as displayed)', () => {
    // 5x5: a dot right of the centre goes above it after +90 degrees.
    const out = rotateImage(dot(5, 5, 1, 2, 4), [5, 5, 1], 90);
    expect(Array.from(out)).toEqual(Array.from(dot(5, 5, 1, 0, 2)));
    const img = rnd(4 * 4 * 2, 2);
    const back = rotateImage(rotateImage(img, [4, 4, 2], 90), [4, 4, 2], -90);
    expect(Array.from(back)).toEqual(Array.from(img));
    const full = rotateImage(rotateImage(img, [4, 4, 2], 180), [4, 4, 2], 180);
    expect(Array.from(full)).toEqual(Array.from(img));
  });

  it('blends with bilinear weights and fills outside', () => {
    // 45 degrees on a constant image: the centre keeps its value, corners take the fill.
    const img = new Float32Array(9 * 9).fill(2);
    const out = rotateImage(img, [9, 9, 1], 45, { fill: -1 });
    expect(out[4 * 9 + 4]).toBeCloseTo(2, 6);
    expect(out[0]).toBe(-1);
    const near = rotateImage(img, [9, 9, 1], 45, { interpolation: 'nearest' });
    expect(new Set(near)).toEqual(new Set([0, 2]));
    for (const v of out) expect(v).toBeGreaterThanOrEqual(-1 - 1e-6);
  });

  it('randomRotation keeps the shape, stays within maxDegrees and is seeded', () => {
    const img = dot(21, 21, 1, 10, 20);
    const t = randomRotation({ maxDegrees: 30, seed: 9 });
    const angles: number[] = [];
    for (let k = 0; k < 50; k++) {
      const out = t(img, [21, 21, 1]);
      expect(out.length).toBe(img.length);
      // The bilinear spread of the dot keeps its centre of mass at the rotated position.
      let m = 0;
      let my = 0;
      let mx = 0;
      out.forEach((v, i) => {
        m += v;
        my += v * Math.floor(i / 21);
        mx += v * (i % 21);
      });
      expect(m).toBeGreaterThan(0.5);
      angles.push((Math.atan2(10 - my / m, mx / m - 10) * 180) / Math.PI);
    }
    for (const a of angles) expect(Math.abs(a)).toBeLessThanOrEqual(30 + 1);
    expect(Math.max(...angles) - Math.min(...angles)).toBeGreaterThan(20);
    const again = randomRotation({ maxDegrees: 30, interpolation: 'nearest', seed: 9 });
    expect(Array.from(again(img, [21, 21, 1]))).toEqual(Array.from(randomRotation({ maxDegrees: 30, interpolation: 'nearest', seed: 9 })(img, [21, 21, 1])));
    expect(Array.from(again(img, [21, 21, 1]))).not.toEqual(Array.from(img));
    expectErr(() => randomRotation({ maxDegrees: -5 }), 'randomRotation', /maxDegrees/);
    expectErr(() => rotateImage(img, [21, 21, 1], 10, { interpolation: 'cubic' as never }), 'rotateImage', /interpolation/);
  });
});

describe('compose', () => {
  it('applies transforms in order and writes the last one into out', () => {
    const img = dot(5, 5, 1, 2, 2);
    const right = (x: Float32Array, s: readonly number[], _r?: Random, out?: Float32Array) => shiftImage(x, s, 0, 1, 0, out);
    const down = (x: Float32Array, s: readonly number[], _r?: Random, out?: Float32Array) => shiftImage(x, s, 1, 0, 0, out);
    const out = new Float32Array(25);
    const res = compose(right, down, right)(img, [5, 5, 1], undefined, out);
    expect(res).toBe(out);
    expect(argmax2d(out, 5, 1)).toEqual([3, 4]);
    expect(Array.from(compose()(img, [5, 5, 1]))).toEqual(Array.from(img));
    expectErr(() => compose(right, 3 as never), 'compose', /argument 1 is not a transform/);
  });
});
