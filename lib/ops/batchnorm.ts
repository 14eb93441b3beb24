// Batch normalization along one channel axis: y = (x - mean) / sqrt(var + eps) * gamma + beta.
// Training uses the batch statistics (and updates the running ones in place); eval uses the running
// statistics, which makes the op a per-channel affine map.
import { native } from '../native/load.js';
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import { normAxis, outerDimInner } from '../tensor/shape.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { describe, requireFloat, tensorArg } from './util.js';

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

  const y = empty(x.shape);
  const mean = empty([c]);
  const invstd = empty([c]);
  try {
    native().batchNorm(x.f32(op), gamma ? gamma.f32(op) : null, beta ? beta.f32(op) : null, y.f32(op), mean.f32(op),
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
    const dx = x.requiresGrad ? empty(x.shape) : null;
    const dgamma = gamma?.requiresGrad ? empty([c]) : null;
    const dbeta = beta?.requiresGrad ? empty([c]) : null;
    const g = gamma ? gamma.f32(op) : null;
    if (training) {
      native().batchNormBackward(x.f32(op), g, mean.f32(op), invstd.f32(op), dy.f32(op), dx ? dx.f32(op) : null,
        dgamma ? dgamma.f32(op) : null, dbeta ? dbeta.f32(op) : null, outer, c, inner);
    } else {
      affineBackward(x.f32(op), g, mean.f32(op), invstd.f32(op), dy.f32(op), dx ? dx.f32(op) : null,
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
 * dx = dy * gamma * invstd, dgamma = sum(dy * (x - mean) * invstd), dbeta = sum(dy).
 */
function affineBackward(x: Float32Array, gamma: Float32Array | null, mean: Float32Array, invstd: Float32Array,
                        dy: Float32Array, dx: Float32Array | null, dgamma: Float32Array | null, dbeta: Float32Array | null,
                        outer: number, c: number, inner: number): void {
  // Walks memory in order (both layouts), accumulating per channel.
  const sdy = new Float64Array(c);
  const sdyx = new Float64Array(c);
  const k = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) k[ch] = (gamma ? gamma[ch]! : 1) * invstd[ch]!;
  let j = 0;
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < c; ch++) {
      const mu = mean[ch]!;
      const kc = k[ch]!;
      let a = 0;
      let b = 0;
      for (const end = j + inner; j < end; j++) {
        const d = dy[j]!;
        a += d;
        b += d * (x[j]! - mu);
        if (dx) dx[j] = d * kc;
      }
      sdy[ch] += a;
      sdyx[ch] += b;
    }
  }
  for (let ch = 0; ch < c; ch++) {
    if (dbeta) dbeta[ch] = sdy[ch]!;
    if (dgamma) dgamma[ch] = sdyx[ch]! * invstd[ch]!;
  }
}
