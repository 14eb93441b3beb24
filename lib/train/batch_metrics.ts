// Metrics computed during fit/evaluate from a batch's targets and predictions (Keras names).
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { hostValues, type Tensor } from '../tensor/tensor.js';

export type MetricName = 'accuracy' | 'binaryAccuracy' | 'categoricalAccuracy' | 'sparseCategoricalAccuracy' | 'mse' | 'mae';

const VALID = ['accuracy', 'acc', 'binaryAccuracy', 'categoricalAccuracy', 'sparseCategoricalAccuracy', 'mse', 'mae', 'meanSquaredError', 'meanAbsoluteError'];

/** Resolves 'accuracy' to the variant that fits the loss, as Keras does. */
export function canonicalMetric(name: string, lossName: string | null): MetricName {
  if (name === 'accuracy' || name === 'acc') {
    if (lossName === 'binaryCrossentropy') return 'binaryAccuracy';
    if (lossName === 'sparseCategoricalCrossentropy') return 'sparseCategoricalAccuracy';
    return 'categoricalAccuracy';
  }
  if (name === 'meanSquaredError') return 'mse';
  if (name === 'meanAbsoluteError') return 'mae';
  if (!VALID.includes(name)) throw new TensorboltError('compile', `unknown metric '${name}'; valid metrics: ${VALID.join(', ')}`);
  return name as MetricName;
}

function argmaxRow(p: ArrayLike<number>, off: number, c: number): number {
  let best = off;
  for (let j = off + 1; j < off + c; j++) if (p[j]! > p[best]!) best = j;
  return best - off;
}

/** Mean of the metric over the batch (values read back once from a device). pred may be logits (same argmax as probabilities). */
export function metricValue(m: MetricName, y: Tensor, pred: Tensor): number {
  const yd = hostValues(y, 'metric');
  const pd = hostValues(pred, 'metric');
  const n = pred.shape[0]!;
  if (n === 0) return 0;
  switch (m) {
    case 'categoricalAccuracy': {
      const c = pred.size / n;
      let ok = 0;
      for (let i = 0; i < n; i++) if (argmaxRow(pd, i * c, c) === argmaxRow(yd, i * c, c)) ok++;
      return ok / n;
    }
    case 'sparseCategoricalAccuracy': {
      const c = pred.size / n;
      if (y.size !== n) throw new TensorboltError('accuracy', `expects one label per sample, got y ${fmtShape(y.shape)}`);
      let ok = 0;
      for (let i = 0; i < n; i++) if (argmaxRow(pd, i * c, c) === yd[i]) ok++;
      return ok / n;
    }
    case 'binaryAccuracy': {
      let ok = 0;
      for (let i = 0; i < pd.length; i++) if ((pd[i]! > 0.5 ? 1 : 0) === (yd[i]! > 0.5 ? 1 : 0)) ok++;
      return ok / pd.length;
    }
    case 'mse':
    case 'mae': {
      let s = 0;
      for (let i = 0; i < pd.length; i++) {
        const d = pd[i]! - yd[i]!;
        s += m === 'mse' ? d * d : Math.abs(d);
      }
      return s / pd.length;
    }
  }
  throw new TensorboltError('metric', `unknown metric '${fmtValue(m)}'`);
}
