// The binding called directly with bad arguments: every one must throw a JS Error (never crash).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';
import { ActivationOp } from '../../lib/native/opcodes.js';

const f32 = (n: number): Float32Array => new Float32Array(n);

describe('native activation / activationBackward', () => {
  const g = native();

  it('computes every op on a valid call, including empty arrays', () => {
    const x = Float32Array.of(-2, -0.5, 0, 0.5, 3, 7);
    for (const code of Object.values(ActivationOp)) {
      const y = f32(6);
      g.activation(code, x, y, 0.1);
      const dx = f32(6);
      g.activationBackward(code, x, y, f32(6).fill(1), dx, 0.1);
      for (const v of [...y, ...dx]) expect(Number.isFinite(v)).toBe(true);
      g.activation(code, f32(0), f32(0), 0);
      g.activationBackward(code, f32(0), f32(0), f32(0), f32(0), 0);
    }
    const y = f32(6);
    g.activation(ActivationOp.relu6, x, y, 0);
    expect(Array.from(y)).toEqual([0, 0, 0, 0.5, 3, 6]);
  });

  it('rejects bad op codes', () => {
    for (const op of [-1, 10, 1.5, NaN, 2 ** 40, '0' as unknown as number]) {
      expect(() => g.activation(op, f32(2), f32(2), 0)).toThrow(/tensorbolt\.activation: .*op/);
      expect(() => g.activationBackward(op, f32(2), f32(2), f32(2), f32(2), 0)).toThrow(/tensorbolt\.activationBackward: .*op/);
    }
  });

  it('rejects wrong array types', () => {
    const bad = [new Float64Array(2), new Int32Array(2), [0, 0], null, undefined, 3] as unknown as Float32Array[];
    for (const b of bad) {
      expect(() => g.activation(0, b, f32(2), 0)).toThrow(TypeError);
      expect(() => g.activation(0, f32(2), b, 0)).toThrow(TypeError);
      for (let k = 0; k < 4; k++) {
        const args = [f32(2), f32(2), f32(2), f32(2)];
        args[k] = b;
        expect(() => g.activationBackward(0, args[0]!, args[1]!, args[2]!, args[3]!, 0)).toThrow(TypeError);
      }
    }
  });

  it('rejects short and long buffers', () => {
    expect(() => g.activation(0, f32(4), f32(3), 0)).toThrow(RangeError);
    expect(() => g.activation(0, f32(4), f32(5), 0)).toThrow(/has 5 elements, expected 4/);
    for (let k = 1; k < 4; k++) {
      const args = [f32(4), f32(4), f32(4), f32(4)];
      args[k] = f32(3);
      expect(() => g.activationBackward(0, args[0]!, args[1]!, args[2]!, args[3]!, 0)).toThrow(RangeError);
    }
  });

  it('rejects non-finite or non-number alpha and missing arguments', () => {
    for (const a of [NaN, Infinity, -Infinity]) expect(() => g.activation(1, f32(2), f32(2), a)).toThrow(/alpha/);
    expect(() => g.activation(1, f32(2), f32(2), '0.1' as unknown as number)).toThrow(/alpha/);
    expect(() => g.activationBackward(1, f32(2), f32(2), f32(2), f32(2), NaN)).toThrow(/alpha/);
    expect(() => (g.activation as unknown as (...a: unknown[]) => void)(0, f32(2))).toThrow(/expected 4 arguments/);
    expect(() => (g.activationBackward as unknown as (...a: unknown[]) => void)(0, f32(2), f32(2))).toThrow(/arguments/);
  });

  it('still works after all those errors', () => {
    const y = f32(3);
    g.activation(ActivationOp.relu, Float32Array.of(-1, 0, 2), y, 0);
    expect(Array.from(y)).toEqual([0, 0, 2]);
  });
});
