// nn.functional: stateless building blocks, PyTorch names. Losses reduce with 'mean' by default.
import { TensorboltError, fmtShape, fmtValue, checkOptions } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { linear as linearOp } from '../ops/linear.js';
import { abs, add, clip, div, log, maximum, mul, neg, square, sub } from '../ops/elementwise.js';
import { isGradEnabled, noGrad, record } from '../tensor/autograd.js';
import { tidy } from '../tensor/tidy.js';
import { mean, sum } from '../ops/reduce.js';
import { oneHot } from '../ops/layout.js';
import { softmaxCrossEntropy, logSoftmax, softmax } from '../ops/softmax.js';
import { relu, sigmoid, softplus, tanh, gelu, leakyRelu, elu } from '../ops/activation.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { conv2d as conv2dOp } from '../ops/conv.js';
import { maxPool2d as maxPoolOp, avgPool2d as avgPoolOp } from '../ops/pool.js';
import { tensorArg } from '../ops/util.js';

export { relu, sigmoid, softplus, tanh, gelu, leakyRelu, elu, softmax, logSoftmax };

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(op: string, x: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (reduction === 'mean') return mean(x);
  if (reduction === 'sum') return sum(x);
  if (reduction === 'none') return x;
  throw new TensorboltError(op, `reduction must be 'mean', 'sum' or 'none', got ${fmtValue(reduction)}`);
}

/** y = x @ weightᵀ + bias, weight (out, in) as in PyTorch. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return linearOp(x, weight, bias ?? null, { transposeWeight: true });
}

/** PyTorch conv2d on NCHW input, weight (OC, C, KH, KW). */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, stride: number | [number, number] = 1,
                       padding: number | [number, number] | 'valid' | 'same' = 0): Tensor {
  return conv2dOp(x, weight, bias, { strides: stride, padding, dataFormat: 'NCHW' });
}

export function maxPool2d(x: Tensor, kernelSize: number | [number, number], stride?: number | [number, number], padding = 0): Tensor {
  return maxPoolOp(x, { poolSize: kernelSize, strides: stride ?? kernelSize, padding, dataFormat: 'NCHW' });
}

export function avgPool2d(x: Tensor, kernelSize: number | [number, number], stride?: number | [number, number], padding = 0): Tensor {
  return avgPoolOp(x, { poolSize: kernelSize, strides: stride ?? kernelSize, padding, dataFormat: 'NCHW' });
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return dropoutOp(x, p, { training });
}

export interface CrossEntropyOptions {
  labelSmoothing?: number;
  reduction?: Reduction;
}

/** Cross-entropy from logits (N, C) and class indices (N) int32 or probabilities (N, C): the fused kernel. */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  checkOptions('crossEntropy', opts);
  return softmaxCrossEntropy(logits, target, { labelSmoothing: opts.labelSmoothing, reduction: opts.reduction ?? 'mean' });
}

/** Negative log-likelihood of log-probabilities (N, C) at class indices (N). */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('nllLoss', opts);
  const op = 'nllLoss';
  tensorArg(op, logProbs, 'input');
  tensorArg(op, target, 'target');
  if (logProbs.rank !== 2) throw new TensorboltError(op, `input must be (N, C), got ${fmtShape(logProbs.shape)}`);
  if (target.dtype !== 'int32' || target.rank !== 1 || target.shape[0] !== logProbs.shape[0])
    throw new TensorboltError(op, `target must be int32 (N) with N = ${logProbs.shape[0]}, got ${target.dtype} ${fmtShape(target.shape)}`);
  const picked = sum(mul(logProbs, oneHot(target, logProbs.shape[1]!)), 1);
  return reduce(op, neg(picked), opts.reduction);
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('mseLoss', opts);
  checkSame('mseLoss', input, target);
  return reduce('mseLoss', square(sub(input, target)), opts.reduction);
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('l1Loss', opts);
  checkSame('l1Loss', input, target);
  return reduce('l1Loss', abs(sub(input, target)), opts.reduction);
}

/**
 * BCE of probabilities; log is clamped at -100 as in PyTorch so p = 0 or 1 stays finite. The
 * gradient is PyTorch's (p - t) / max(p (1 - p), 1e-12): differentiating the clamped logs instead
 * gives 0 * (1 / 0) = NaN at p = 0 or 1, which poisoned every weight through one saturated sigmoid.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const op = 'binaryCrossEntropy';
  checkOptions(op, opts);
  checkSame(op, input, target);
  if (target.requiresGrad && isGradEnabled())
    throw new TensorboltError(op, `gradients do not flow to target, but it requires grad; pass target.detach() (input ${fmtShape(input.shape)})`);
  const l = noGrad(() => tidy(() => {
    const logP = maximum(log(input), -100);
    const log1mP = maximum(log(sub(1, input)), -100);
    return neg(add(mul(target, logP), mul(sub(1, target), log1mP)));
  }));
  const withGrad = record(op, l, [input], (dy) => [tidy(() => mul(dy, div(sub(input, target), maximum(mul(input, sub(1, input)), 1e-12))))]);
  return reduce(op, withGrad, opts.reduction);
}

/** BCE from logits, stable for any x: max(x,0) - x*y + log(1 + exp(-|x|)). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('binaryCrossEntropyWithLogits', opts);
  checkSame('binaryCrossEntropyWithLogits', input, target);
  const l = add(sub(relu(input), mul(input, target)), softplus(neg(abs(input))));
  return reduce('binaryCrossEntropyWithLogits', l, opts.reduction);
}

function checkSame(op: string, a: Tensor, b: Tensor): void {
  tensorArg(op, a, 'input');
  tensorArg(op, b, 'target');
  if (a.shape.join(',') !== b.shape.join(','))
    throw new TensorboltError(op, `input ${fmtShape(a.shape)} and target ${fmtShape(b.shape)} must have the same shape`);
  if (b.dtype !== 'float32') throw new TensorboltError(op, `target must be float32, got ${b.dtype}`);
}

export { clip };
