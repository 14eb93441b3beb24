// Inverted dropout: during training each element is zeroed with probability `rate` and the survivors
// are scaled by 1/(1-rate), so inference needs no rescaling; outside training it is the identity.
import { record } from '../tensor/autograd.js';
import { TensorboltError } from '../tensor/errors.js';
import { globalRandom } from '../tensor/random.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { describe, requireFloat, tensorArg } from './util.js';

export interface DropoutOptions {
  /** Seed of this mask; without it one is drawn from the global generator (tb.setSeed). */
  seed?: number;
  /** When false, dropout is the identity (default true). */
  training?: boolean;
}

/** A 53-bit seed from the global generator, so tb.setSeed makes every unseeded mask repeatable. */
function drawSeed(): number {
  return (globalRandom.nextU32() & 0x1fffff) * 4294967296 + globalRandom.nextU32();
}

/**
 * Zeroes each element of x with probability rate and scales the rest by 1/(1-rate) (training), or
 * returns x itself (not training, or rate 0). The mask is a pure function of (seed, element index).
 */
export function dropout(x: Tensor, rate: number, opts: DropoutOptions = {}): Tensor {
  const op = 'dropout';
  tensorArg(op, x, 'x');
  requireFloat(op, x, 'x');
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1))
    throw new TensorboltError(op, `rate must be a number in [0, 1), got ${describe(rate)}`);
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${describe(opts)}`);
  const { seed, training = true } = opts;
  if (typeof training !== 'boolean') throw new TensorboltError(op, `training must be a boolean, got ${describe(training)}`);
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isSafeInteger(seed)))
    throw new TensorboltError(op, `seed must be a safe integer, got ${describe(seed)}`);
  if (!training || rate === 0) return x;
  // Draw even for empty tensors so the global stream advances the same way whatever the shape.
  const s = seed ?? drawSeed();
  // The mask is a function of (seed, index) on every backend: one seed, one mask, whatever the device.
  const be = x._be;
  const y = empty(be, x.shape);
  const mask = empty(be, x.shape);
  be.dropout(x.f32(op), y.f32(op), mask.f32(op), rate, s);
  return record(op, y, [x], (dy) => {
    const dx = empty(be, x.shape);
    be.dropoutBackward(dy.f32(op), mask.f32(op), dx.f32(op));
    return [dx];
  }, [mask]);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    dropout(rate: number, opts?: DropoutOptions): Tensor;
  }
}
Tensor.prototype.dropout = function (rate: number, opts?: DropoutOptions) { return dropout(this, rate, opts); };
