// The dense layer as one op: y = act(x @ W + b) with its gradients, one native call each way
// (native/cpu/linear.cc). Keras's Dense and PyTorch's Linear use it; the same result as
// act(add(matmul(x, W), b)) without the intermediates.
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { backendOf, fusedActivationCode, requireFloat, tensorArg, type FusedActivation } from './util.js';

export interface LinearOptions {
  /** Applied to the output in the same pass: 'relu' or 'linear' (none, the default). */
  activation?: FusedActivation;
  /** Weight stored (out, in) as in PyTorch, instead of (in, out) as in Keras. */
  transposeWeight?: boolean;
}

/**
 * act(x @ weight + bias) over the last axis of x: x (..., in), weight (in, out), or (out, in) with
 * transposeWeight, bias (out) or null; the result is (..., out).
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: LinearOptions = {}): Tensor {
  const op = 'linear';
  tensorArg(op, x, 'x');
  tensorArg(op, weight, 'weight');
  requireFloat(op, x, 'x');
  requireFloat(op, weight, 'weight');
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${typeof opts}`);
  const act = fusedActivationCode(op, opts.activation);
  const tw = opts.transposeWeight === true;
  if (x.rank < 1) throw new TensorboltError(op, `x must have rank >= 1, got a scalar`);
  if (weight.rank !== 2)
    throw new TensorboltError(op, `weight must be 2-D ${tw ? '(out, in)' : '(in, out)'}, got ${fmtShape(weight.shape)}`);
  const k = x.shape[x.rank - 1]!;
  const [wk, n] = tw ? [weight.shape[1]!, weight.shape[0]!] : [weight.shape[0]!, weight.shape[1]!];
  if (wk !== k)
    throw new TensorboltError(op, `x ${fmtShape(x.shape)} has ${k} features but weight ${fmtShape(weight.shape)} ` +
      `expects ${wk} (weight is ${tw ? '(out, in)' : '(in, out)'})`);
  if (bias !== null && bias !== undefined) {
    tensorArg(op, bias, 'bias');
    requireFloat(op, bias, 'bias');
    if (bias.rank !== 1 || bias.shape[0] !== n)
      throw new TensorboltError(op, `bias must have shape [${n}] (the outputs of weight ${fmtShape(weight.shape)}), got ${fmtShape(bias.shape)}`);
  } else {
    bias = null;
  }
  const m = x.shape.slice(0, -1).reduce((a, c) => a * c, 1);
  const g = backendOf(op, x, weight, bias);
  const out = empty(g, [...x.shape.slice(0, -1), n]);
  g.linear(x.f32(op), weight.f32(op), bias ? bias.f32(op) : null, out.f32(op), m, n, k, tw, act);
  const b = bias;
  // With a fused ReLU the backward reads the output (alive whenever this runs: disposing it drops the node).
  return record(op, out, b ? [x, weight, b] : [x, weight], (dy) => {
    const dx = x.requiresGrad ? empty(g, x.shape) : null;
    const dw = weight.requiresGrad ? empty(g, weight.shape) : null;
    const db = b && b.requiresGrad ? empty(g, b.shape) : null;
    g.linearBackward(x.f32(op), weight.f32(op), dy.f32(op), act ? out.f32(op) : null, dx ? dx.f32(op) : null,
      dw ? dw.f32(op) : null, db ? db.f32(op) : null, m, n, k, tw, act);
    return b ? [dx, dw, db] : [dx, dw];
  });
}
