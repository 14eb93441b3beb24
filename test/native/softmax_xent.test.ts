// The binding called directly with bad arguments: every one must throw a JS Error (never crash).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

const f32 = (n: number): Float32Array => new Float32Array(n);
const i32 = (...v: number[]): Int32Array => Int32Array.from(v);
type AnyFn = (...a: unknown[]) => void;

describe('native softmax / softmaxBackward', () => {
  const g = native();

  it('valid calls, including empty sizes', () => {
    const y = f32(4);
    g.softmax(Float32Array.of(1, 1, 2, 2), y, 2, 2, 1, false);
    expect(Array.from(y)).toEqual([0.5, 0.5, 0.5, 0.5]);
    g.softmax(f32(0), f32(0), 0, 5, 3, true);
    g.softmax(f32(0), f32(0), 4, 0, 3, false);
    g.softmaxBackward(f32(0), f32(0), f32(0), 2, 0, 2, true);
    // dx may be dy itself.
    const dy = Float32Array.of(1, 0, 0, 1);
    g.softmaxBackward(y, dy, dy, 2, 2, 1, false);
    expect(Array.from(dy)).toEqual([0.25, -0.25, -0.25, 0.25]);
  });

  it('rejects wrong types', () => {
    for (const b of [new Float64Array(4), new Int32Array(4), [0, 0, 0, 0], null]) {
      expect(() => (g.softmax as AnyFn)(b, f32(4), 1, 4, 1, false)).toThrow(TypeError);
      expect(() => (g.softmax as AnyFn)(f32(4), b, 1, 4, 1, false)).toThrow(TypeError);
      expect(() => (g.softmaxBackward as AnyFn)(f32(4), f32(4), b, 1, 4, 1, false)).toThrow(TypeError);
    }
    expect(() => (g.softmax as AnyFn)(f32(4), f32(4), 1, 4, 1, 1)).toThrow(/log.*boolean/);
    expect(() => (g.softmax as AnyFn)(f32(4), f32(4), '1', 4, 1, false)).toThrow(/outer/);
    expect(() => (g.softmaxBackward as AnyFn)(f32(4), f32(4))).toThrow(/arguments/);
  });

  it('rejects short buffers and negative, fractional or huge sizes', () => {
    expect(() => g.softmax(f32(5), f32(6), 2, 3, 1, false)).toThrow(/x\) has 5 elements, expected 6/);
    expect(() => g.softmax(f32(6), f32(5), 2, 3, 1, false)).toThrow(RangeError);
    expect(() => g.softmaxBackward(f32(6), f32(6), f32(5), 2, 3, 1, false)).toThrow(RangeError);
    expect(() => g.softmaxBackward(f32(6), f32(2), f32(6), 2, 3, 1, true)).toThrow(RangeError);
    for (const [o, d, i] of [[-1, 3, 1], [2, -3, 1], [1, 3, -1], [1.5, 2, 1], [2 ** 31, 1, 1], [NaN, 1, 1]]) {
      expect(() => g.softmax(f32(6), f32(6), o!, d!, i!, false)).toThrow(RangeError);
      expect(() => g.softmaxBackward(f32(6), f32(6), f32(6), o!, d!, i!, false)).toThrow(RangeError);
    }
    // Each size fits in int32 but the product would overflow any buffer.
    expect(() => g.softmax(f32(6), f32(6), 2 ** 30, 2 ** 30, 2 ** 30, false)).toThrow(/overflow/);
  });

  it('rejects outputs sharing memory with inputs', () => {
    const buf = f32(8);
    expect(() => g.softmax(buf, buf, 2, 4, 1, false)).toThrow(/must not share memory/);
    const whole = new Float32Array(10);
    expect(() => g.softmax(whole.subarray(0, 6), whole.subarray(4, 10), 2, 3, 1, true)).toThrow(/share memory/);
    expect(() => g.softmaxBackward(whole.subarray(0, 6), f32(6), whole.subarray(3, 9), 2, 3, 1, true)).toThrow(/share memory/);
  });
});

describe('native softmaxXent / softmaxXentBackward', () => {
  const g = native();
  const logits = Float32Array.of(0, 1, 2, 2, 1, 0);

  it('valid calls with labels and with targets', () => {
    const probs = f32(6), loss = f32(2), dl = f32(6);
    g.softmaxXent(logits, 2, 3, i32(2, 0), null, 0, probs, loss);
    expect(loss[0]).toBeCloseTo(loss[1]!, 6);
    g.softmaxXentBackward(probs, 2, 3, i32(2, 0), null, 0, Float32Array.of(1, 1), dl);
    expect(dl[2]).toBeCloseTo(probs[2]! - 1, 6);
    const loss2 = f32(2);
    g.softmaxXent(logits, 2, 3, null, Float32Array.of(0, 0, 1, 1, 0, 0), 0, probs, loss2);
    expect(Array.from(loss2)).toEqual(Array.from(loss));
    g.softmaxXent(f32(0), 0, 0, i32(), null, 0, f32(0), f32(0));
    g.softmaxXentBackward(f32(0), 0, 5, null, f32(0), 0.1, f32(0), f32(0));
  });

  it('labels out of range throw a RangeError naming the sample and label, writing nothing', () => {
    const loss = Float32Array.of(-7, -7);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0, 3), null, 0, f32(6), loss)).toThrow(RangeError);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0, 3), null, 0, f32(6), loss)).toThrow(/label 3 of sample 1.*\[0, 3\)/);
    expect(() => g.softmaxXent(logits, 2, 3, i32(-1, 0), null, 0, f32(6), loss)).toThrow(/label -1 of sample 0/);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0, 2 ** 31 - 1), null, 0, f32(6), loss)).toThrow(/sample 1/);
    expect(Array.from(loss)).toEqual([-7, -7]);
    expect(() => g.softmaxXentBackward(f32(6), 2, 3, i32(5, 0), null, 0, f32(2), f32(6))).toThrow(/label 5 of sample 0/);
  });

  it('requires exactly one of labels and targets', () => {
    expect(() => g.softmaxXent(logits, 2, 3, null, null, 0, f32(6), f32(2))).toThrow(/exactly one/);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0, 0), f32(6), 0, f32(6), f32(2))).toThrow(/exactly one/);
    expect(() => g.softmaxXentBackward(f32(6), 2, 3, null, null, 0, f32(2), f32(6))).toThrow(/exactly one/);
  });

  it('rejects wrong types', () => {
    const call = (k: number, v: unknown): void => {
      const args: unknown[] = [logits, 2, 3, i32(0, 1), null, 0, f32(6), f32(2)];
      args[k] = v;
      (g.softmaxXent as AnyFn)(...args);
    };
    expect(() => call(0, new Float64Array(6))).toThrow(TypeError);
    expect(() => call(3, Float32Array.of(0, 1))).toThrow(/labels.*Int32Array/);
    expect(() => call(6, new Int32Array(6))).toThrow(/probs.*Float32Array/);
    expect(() => call(7, [0, 0])).toThrow(/loss.*Float32Array/);
    expect(() => call(5, '0')).toThrow(/smoothing/);
    expect(() => call(1, {})).toThrow(/n/);
    expect(() => (g.softmaxXent as AnyFn)(logits, 2, 3, i32(0, 1), null, 0, f32(6), null)).toThrow(TypeError);
    expect(() => (g.softmaxXentBackward as AnyFn)(f32(6), 2, 3, null, new Int32Array(6), 0, f32(2), f32(6))).toThrow(/targets.*Float32Array/);
    expect(() => (g.softmaxXentBackward as AnyFn)(f32(6), 2, 3)).toThrow(/arguments/);
  });

  it('rejects short buffers and negative, huge or zero sizes', () => {
    expect(() => g.softmaxXent(f32(5), 2, 3, i32(0, 1), null, 0, f32(6), f32(2))).toThrow(/logits\) has 5/);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0), null, 0, f32(6), f32(2))).toThrow(/labels\) has 1/);
    expect(() => g.softmaxXent(logits, 2, 3, null, f32(5), 0, f32(6), f32(2))).toThrow(/targets\) has 5/);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0, 1), null, 0, f32(5), f32(2))).toThrow(/probs\) has 5/);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0, 1), null, 0, f32(6), f32(1))).toThrow(/loss\) has 1/);
    expect(() => g.softmaxXentBackward(f32(6), 2, 3, i32(0, 1), null, 0, f32(1), f32(6))).toThrow(/dloss\) has 1/);
    expect(() => g.softmaxXentBackward(f32(6), 2, 3, i32(0, 1), null, 0, f32(2), f32(7))).toThrow(/dlogits\) has 7/);
    for (const [n, c] of [[-2, 3], [2, -3], [2 ** 31, 3], [2, 1.5], [2 ** 30, 2 ** 30]]) {
      expect(() => g.softmaxXent(logits, n!, c!, i32(0, 1), null, 0, f32(6), f32(2))).toThrow(RangeError);
      expect(() => g.softmaxXentBackward(f32(6), n!, c!, i32(0, 1), null, 0, f32(2), f32(6))).toThrow(RangeError);
    }
    expect(() => g.softmaxXent(f32(0), 2, 0, null, f32(0), 0, f32(0), f32(2))).toThrow(/c must be positive/);
  });

  it('rejects smoothing outside [0, 1]', () => {
    for (const s of [-0.1, 1.5, NaN, Infinity])
      expect(() => g.softmaxXent(logits, 2, 3, i32(0, 1), null, s, f32(6), f32(2))).toThrow(/smoothing/);
    g.softmaxXent(logits, 2, 3, i32(0, 1), null, 1, f32(6), f32(2));
  });

  it('rejects outputs sharing memory with inputs', () => {
    const l = logits.slice();
    expect(() => g.softmaxXent(l, 2, 3, i32(0, 1), null, 0, l, f32(2))).toThrow(/logits and probs/);
    const buf = new Float32Array(8);
    expect(() => g.softmaxXent(logits, 2, 3, i32(0, 1), null, 0, buf.subarray(0, 6), buf.subarray(5, 7))).toThrow(/probs and loss/);
    const ib = new ArrayBuffer(32);
    expect(() => g.softmaxXent(logits, 2, 3, new Int32Array(ib, 0, 2), null, 0, new Float32Array(ib, 0, 6), f32(2)))
      .toThrow(/labels and probs/);
    expect(() => g.softmaxXentBackward(f32(6), 2, 3, i32(0, 1), null, 0, buf.subarray(0, 2), buf.subarray(1, 7))).toThrow(/dloss and dlogits/);
    // dlogits written over probs is allowed (each element read then written).
    const p = f32(6);
    g.softmaxXent(logits, 2, 3, i32(0, 1), null, 0, p, f32(2));
    const expected = Array.from(p).map((v, j) => v - (j === 0 || j === 4 ? 1 : 0));
    g.softmaxXentBackward(p, 2, 3, i32(0, 1), null, 0, Float32Array.of(1, 1), p);
    for (let j = 0; j < 6; j++) expect(p[j]).toBeCloseTo(expected[j]!, 6);
  });
});
