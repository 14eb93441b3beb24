// Keras-style losses by name: loss(yTrue, yPred) -> scalar mean over the batch.
import { TensorboltError, fmtShape, checkOptions } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { clip, log, mul, neg } from '../ops/elementwise.js';
import { mean, sum } from '../ops/reduce.js';
import { softmaxCrossEntropy } from '../ops/softmax.js';
import { tensorArg } from '../ops/util.js';
import * as F from '../nn/functional.js';

export type LossFn = (yTrue: Tensor, yPred: Tensor) => Tensor;

/** Keras clips probabilities to [eps, 1 - eps] before the log (backend epsilon 1e-7). */
const EPS = 1e-7;

function sameShape(op: string, yTrue: Tensor, yPred: Tensor): void {
  tensorArg(op, yTrue, 'yTrue');
  tensorArg(op, yPred, 'yPred');
  if (yTrue.shape.join(',') !== yPred.shape.join(','))
    throw new TensorboltError(op, `yTrue ${fmtShape(yTrue.shape)} and yPred ${fmtShape(yPred.shape)} must have the same shape`);
}

export function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor, opts: { fromLogits?: boolean } = {}): Tensor {
  checkOptions('categoricalCrossentropy', opts);
  const op = 'categoricalCrossentropy';
  sameShape(op, yTrue, yPred);
  if (yPred.rank !== 2) throw new TensorboltError(op, `expects (batch, classes), got ${fmtShape(yPred.shape)}`);
  if (opts.fromLogits) return softmaxCrossEntropy(yPred, yTrue);
  return mean(neg(sum(mul(yTrue, log(clip(yPred, EPS, 1 - EPS))), -1)));
}

export function sparseCategoricalCrossentropy(yTrue: Tensor, yPred: Tensor, opts: { fromLogits?: boolean } = {}): Tensor {
  checkOptions('sparseCategoricalCrossentropy', opts);
  const op = 'sparseCategoricalCrossentropy';
  tensorArg(op, yTrue, 'yTrue');
  tensorArg(op, yPred, 'yPred');
  if (yPred.rank !== 2) throw new TensorboltError(op, `expects yPred (batch, classes), got ${fmtShape(yPred.shape)}`);
  const labels = yTrue.rank === 2 && yTrue.shape[1] === 1 ? yTrue.reshape([yTrue.shape[0]!]) : yTrue;
  if (labels.rank !== 1 || labels.shape[0] !== yPred.shape[0])
    throw new TensorboltError(op, `yTrue must hold one class index per sample (${yPred.shape[0]}), got ${fmtShape(yTrue.shape)}`);
  const idx = labels.dtype === 'int32' ? labels : labels.cast('int32');
  if (opts.fromLogits) return softmaxCrossEntropy(yPred, idx);
  return F.nllLoss(log(clip(yPred, EPS, 1 - EPS)), idx);
}

export function binaryCrossentropy(yTrue: Tensor, yPred: Tensor, opts: { fromLogits?: boolean } = {}): Tensor {
  checkOptions('binaryCrossentropy', opts);
  sameShape('binaryCrossentropy', yTrue, yPred);
  if (opts.fromLogits) return F.binaryCrossEntropyWithLogits(yPred, yTrue);
  return F.binaryCrossEntropy(clip(yPred, EPS, 1 - EPS), yTrue);
}

export function meanSquaredError(yTrue: Tensor, yPred: Tensor): Tensor {
  sameShape('meanSquaredError', yTrue, yPred);
  return F.mseLoss(yPred, yTrue);
}

export function meanAbsoluteError(yTrue: Tensor, yPred: Tensor): Tensor {
  sameShape('meanAbsoluteError', yTrue, yPred);
  return F.l1Loss(yPred, yTrue);
}

const byName: Record<string, LossFn> = {
  categoricalCrossentropy: (t, p) => categoricalCrossentropy(t, p),
  sparseCategoricalCrossentropy: (t, p) => sparseCategoricalCrossentropy(t, p),
  binaryCrossentropy: (t, p) => binaryCrossentropy(t, p),
  meanSquaredError, meanAbsoluteError,
};
const aliases: Record<string, string> = {
  categorical_crossentropy: 'categoricalCrossentropy', sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
  binary_crossentropy: 'binaryCrossentropy', mean_squared_error: 'meanSquaredError', mse: 'meanSquaredError',
  mean_absolute_error: 'meanAbsoluteError', mae: 'meanAbsoluteError',
};

export function canonicalLossName(name: string): string {
  const n = aliases[name] ?? name;
  if (!(n in byName))
    throw new TensorboltError('compile', `unknown loss '${name}'; valid losses: ${[...Object.keys(byName), ...Object.keys(aliases)].join(', ')}`);
  return n;
}

export function lossByName(name: string): LossFn {
  return byName[canonicalLossName(name)]!;
}

export const losses = { categoricalCrossentropy, sparseCategoricalCrossentropy, binaryCrossentropy, meanSquaredError, meanAbsoluteError };
