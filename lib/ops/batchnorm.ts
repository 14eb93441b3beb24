// Batch normalization along one channel axis: y = (x - mean) / sqrt(var + eps) * gamma + beta.
// Training uses the batch statistics (and updates the running ones in place); eval uses the running
// statistics, which makes the op a per-channel affine map.
import type { F32Buf } from '../native/backend.js';
import { BinaryOp } from '../native/opcodes.js';
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import { normAxis, outerDimInner } from '../tensor/shape.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { backendOf, describe, requireFloat, tensorArg, type OpBackend } from './util.js';

export interface BatchNormParams {
  /** Scale (C), or null for 1. */
  gamma: Tensor | null;
  /** Shift (C), or null for 0. */
  beta: Tensor | null;
  /** Running mean (C): read in eval mode, updated in place in training mode. */
  runningMean: Tensor;
  /** Running (unbiased) variance (C): read in eval mode, updated in place in training mode. */
  runningVar: Tensor;
}

export interface BatchNormOptions {
  /** Batch statistics and running-stat update (true) or running statistics (false). */
  training: boolean;
  /**
   * PyTorch's convention: running = (1 - momentum) * running + momentum * batch (default 0.1).
   * Keras's `momentum: 0.99` is PyTorch's 0.01.
   */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** The channel axis: -1 (default) for NHWC/(N, C) as in Keras, 1 for NCHW as in PyTorch. */
  axis?: number;
}

function channelParam(op: string, t: unknown, name: string, c: number, xShape: readonly number[], axis: number, nullable: boolean): Tensor | null {
  if (nullable && (t === null || t === undefined)) return null;
  if (!(t instanceof Tensor)) throw new TensorboltError(op, `${name} must be a Tensor${nullable ? ' or null' : ''}, got ${describe(t)}`);
  t.buf(op);
  requireFloat(op, t, name);
  if (t.rank !== 1 || t.shape[0] !== c)
    throw new TensorboltError(op, `${name} has shape ${fmtShape(t.shape)}, expected [${c}] (the size of axis ${axis} of input ${fmtShape(xShape)})`);
  return t;
}

/**
 * Normalizes x over every axis but `axis`, per channel. In training mode the gradient flows through
 * the batch statistics to x, gamma and beta; in eval mode through the fixed affine map.
 */
export function batchNorm(x: Tensor, params: BatchNormParams, opts: BatchNormOptions): Tensor {
  const op = 'batchNorm';
  tensorArg(op, x, 'x');
  requireFloat(op, x, 'x');
  if (x.rank < 2) throw new TensorboltError(op, `x must have rank >= 2 (a batch axis and a channel axis), got shape ${fmtShape(x.shape)}`);
  if (params === null || typeof params !== 'object')
    throw new TensorboltError(op, `params must be {gamma, beta, runningMean, runningVar}, got ${describe(params)}`);
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${describe(opts)}`);
  const { training, momentum = 0.1, eps = 1e-5, axis: axisArg = -1 } = opts;
  if (typeof training !== 'boolean') throw new TensorboltError(op, `options.training must be a boolean, got ${describe(training)}`);
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))
    throw new TensorboltError(op, `momentum must be a number in [0, 1], got ${describe(momentum)}`);
  if (typeof eps !== 'number' || !(eps > 0 && Number.isFinite(eps)))
    throw new TensorboltError(op, `eps must be a positive finite number, got ${describe(eps)}`);
  if (typeof axisArg !== 'number') throw new TensorboltError(op, `axis must be an integer, got ${describe(axisArg)}`);
  const axis = normAxis(op, axisArg, x.rank);
  const [outer, c, inner] = outerDimInner(x.shape, axis);
  const gamma = channelParam(op, params.gamma, 'gamma', c, x.shape, axis, true);
  const beta = channelParam(op, params.beta, 'beta', c, x.shape, axis, true);
  const runningMean = channelParam(op, params.runningMean, 'runningMean', c, x.shape, axis, false)!;
  const runningVar = channelParam(op, params.runningVar, 'runningVar', c, x.shape, axis, false)!;
  if (training && outer * inner === 1)
    throw new TensorboltError(op, `training needs more than one value per channel, got input shape ${fmtShape(x.shape)} with channel axis ${axis}`);

  const be = backendOf(op, x, gamma, beta, runningMean);
  backendOf(op, x, runningVar);
  const y = empty(be, x.shape);
  const mean = empty(be, [c]);
  const invstd = empty(be, [c]);
  try {
    be.batchNorm(x.f32(op), gamma ? gamma.f32(op) : null, beta ? beta.f32(op) : null, y.f32(op), mean.f32(op),
      invstd.f32(op), runningMean.f32(op), runningVar.f32(op), outer, c, inner, momentum, eps, training);
  } catch (e) {
    y.dispose();
    mean.dispose();
    invstd.dispose();
    throw new TensorboltError(op, `${(e as Error).message} (input ${fmtShape(x.shape)}, channel axis ${axis})`);
  }

  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  return record(op, y, inputs, (dy) => {
    const dx = x.requiresGrad ? empty(be, x.shape) : null;
    const dgamma = gamma?.requiresGrad ? empty(be, [c]) : null;
    const dbeta = beta?.requiresGrad ? empty(be, [c]) : null;
    const g = gamma ? gamma.f32(op) : null;
    if (training) {
      be.batchNormBackward(x.f32(op), g, mean.f32(op), invstd.f32(op), dy.f32(op), dx ? dx.f32(op) : null,
        dgamma ? dgamma.f32(op) : null, dbeta ? dbeta.f32(op) : null, outer, c, inner);
    } else {
      affineBackward(be, x.f32(op), g, mean.f32(op), invstd.f32(op), dy.f32(op), dx ? dx.f32(op) : null,
        dgamma ? dgamma.f32(op) : null, dbeta ? dbeta.f32(op) : null, outer, c, inner);
    }
    const grads: (Tensor | null)[] = [dx];
    if (gamma) grads.push(dgamma);
    if (beta) grads.push(dbeta);
    return grads;
  }, [mean, invstd]);
}

/**
 * Gradients of the eval-mode map y = (x - mean) * invstd * gamma + beta with mean/invstd fixed:
 * dx = dy * gamma * invstd, dgamma = sum(dy * (x - mean)) * invstd, dbeta = sum(dy), the sums over
 * every axis but the channel. Broadcasting kernels over the (outer, C, inner) view, channel vectors
 * read with strides (0, 1, 0); the sums accumulate in double (sumToStrides).
 */
function affineBackward(be: OpBackend, x: F32Buf, gamma: F32Buf | null, mean: F32Buf, invstd: F32Buf, dy: F32Buf,
                        dx: F32Buf | null, dgamma: F32Buf | null, dbeta: F32Buf | null, outer: number, c: number, inner: number): void {
  const shape = Int32Array.of(outer, c, inner);
  const full = Int32Array.of(c * inner, inner, 1);
  const chan = Int32Array.of(0, 1, 0);
  const vec = Int32Array.of(1);
  const cShape = Int32Array.of(c);
  if (dx) {
    const k = gamma ? (be.alloc(c, 'float32') as F32Buf) : invstd;
    if (gamma) be.binary(BinaryOp.mul, gamma, vec, invstd, vec, k, cShape);
    be.binary(BinaryOp.mul, dy, full, k, chan, dx, shape);
    if (k !== invstd) be.free(k);
  }
  if (dbeta) be.sumToStrides(dy, shape, dbeta, chan);
  if (dgamma) {
    const xm = be.alloc(outer * c * inner, 'float32') as F32Buf;
    try {
      be.binary(BinaryOp.sub, x, full, mean, chan, xm, shape);
      be.binary(BinaryOp.mul, xm, full, dy, full, xm, shape);
      be.sumToStrides(xm, shape, dgamma, chan);
      be.binary(BinaryOp.mul, dgamma, vec, invstd, vec, dgamma, cShape);
    } finally {
      be.free(xm);
    }
  }
}
