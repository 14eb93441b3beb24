// Softmax and log-softmax along an axis, and the fused softmax + cross-entropy loss over class
// logits (one native pass computes the probabilities and the per-sample loss; backward is
// probs - target, so no log-probabilities are ever materialized).
import { ReduceOp } from '../native/opcodes.js';
import { isGradEnabled, needsGrad, record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import { outerDimInner } from '../tensor/shape.js';
import { Tensor, copyTo, empty, view } from '../tensor/tensor.js';
import { backendOf, describe, requireFloat, tensorArg } from './util.js';

function axisArg(op: string, x: Tensor, axis: unknown): number {
  const r = x.rank;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -r || axis >= r)
    throw new TensorboltError(op, `axis ${typeof axis === 'number' ? axis : describe(axis)} is out of range for input of shape ${fmtShape(x.shape)} (valid: ${-r}..${r - 1})`);
  return axis < 0 ? axis + r : axis;
}

function softmaxAlong(op: string, x: Tensor, axis: number, log: boolean): Tensor {
  tensorArg(op, x);
  requireFloat(op, x);
  if (x.rank === 0) throw new TensorboltError(op, `input must have rank >= 1, got a scalar ${fmtShape(x.shape)}`);
  const [outer, dim, inner] = outerDimInner(x.shape, axisArg(op, x, axis));
  const be = x._be;
  const out = empty(be, x.shape);
  be.softmax(x.f32(op), out.f32(op), outer, dim, inner, log);
  // Both gradients need only the output (PyTorch saves the result too), so x may be freed.
  return record(op, out, [x], (dy) => {
    const dx = empty(be, x.shape);
    be.softmaxBackward(out.f32(op), dy.f32(op), dx.f32(op), outer, dim, inner, log);
    return [dx];
  });
}

/** exp(x) / sum(exp(x)) along `axis` (default the last). Stable for any finite x (the max is subtracted). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxAlong('softmax', x, axis, false);
}

/** log(softmax(x)) along `axis` (default the last), computed directly: finite for logits of any finite size. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxAlong('logSoftmax', x, axis, true);
}

export type LossReduction = 'mean' | 'sum' | 'none';

export interface SoftmaxCrossEntropyOptions {
  /**
   * Label smoothing eps in [0, 1]: the target row becomes (1 - eps) * target + eps / C (PyTorch's
   * label_smoothing for class indices, Keras's for one-hot/probability targets). Default 0.
   */
  labelSmoothing?: number;
  /** 'mean' over the batch (default), 'sum', or 'none' for the per-sample losses (N). */
  reduction?: LossReduction;
}

const REDUCTIONS: readonly LossReduction[] = ['mean', 'sum', 'none'];

/**
 * Cross-entropy of softmax(logits) against `target`, fused (PyTorch's F.cross_entropy, Keras's
 * categoricalCrossentropy / sparseCategoricalCrossentropy with fromLogits).
 *
 * - logits: float32 (N, C).
 * - target: int32 class indices (N), each in [0, C); or float32 probabilities (N, C) (one-hot or soft;
 *   rows are used as given, a row summing to s scales that sample's gradient by s).
 *
 * Returns a scalar for 'mean'/'sum', (N) for 'none'. Gradients flow to logits only; a target that
 * requires grad is rejected (pass target.detach()).
 */
export function softmaxCrossEntropy(logits: Tensor, target: Tensor, opts: SoftmaxCrossEntropyOptions = {}): Tensor {
  return softmaxCrossEntropyImpl(logits, target, opts, false).loss;
}

/**
 * @internal The loss and softmax(logits) together: the fused kernel computes the probabilities
 * anyway (fit's metrics read them, and a second softmax over the logits cost an op per step).
 * probs is a plain tensor (no gradient) sharing memory with what backward keeps; it stays valid
 * after backward has run.
 */
export function softmaxCrossEntropyAndProbs(logits: Tensor, target: Tensor, opts: SoftmaxCrossEntropyOptions = {}): { loss: Tensor; probs: Tensor } {
  const r = softmaxCrossEntropyImpl(logits, target, opts, true);
  return { loss: r.loss, probs: r.probs! };
}

function softmaxCrossEntropyImpl(logits: Tensor, target: Tensor, opts: SoftmaxCrossEntropyOptions,
                                 wantProbs: boolean): { loss: Tensor; probs: Tensor | null } {
  const op = 'softmaxCrossEntropy';
  tensorArg(op, logits, 'logits');
  tensorArg(op, target, 'target');
  requireFloat(op, logits, 'logits');
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${describe(opts)}`);
  const eps = opts.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1))
    throw new TensorboltError(op, `labelSmoothing must be a number in [0, 1], got ${describe(eps)}`);
  const reduction = opts.reduction ?? 'mean';
  if (!REDUCTIONS.includes(reduction))
    throw new TensorboltError(op, `reduction must be one of ${REDUCTIONS.map((r) => `'${r}'`).join(', ')}, got ${typeof reduction === 'string' ? `'${reduction}'` : describe(reduction)}`);
  if (logits.rank !== 2) throw new TensorboltError(op, `logits must have shape (N, C), got ${fmtShape(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  const shapes = `logits ${fmtShape(logits.shape)}, target ${fmtShape(target.shape)} ${target.dtype}`;
  if (target.dtype === 'int32') {
    if (target.rank !== 1 || target.shape[0] !== n)
      throw new TensorboltError(op, `int32 target (class indices) must have shape [${n}] to match the batch of logits; got ${shapes}`);
  } else if (target.rank !== 2 || target.shape[0] !== n || target.shape[1] !== c) {
    const hint = target.rank === 1 && target.shape[0] === n ? ` (class indices must be int32: use target.cast('int32'))` : '';
    throw new TensorboltError(op, `float32 target (probabilities) must have the shape of logits [${n},${c}]; got ${shapes}${hint}`);
  }
  if (c === 0 && n > 0) throw new TensorboltError(op, `logits need at least one class; got ${shapes}`);
  if (reduction === 'mean' && n === 0)
    throw new TensorboltError(op, `the mean over an empty batch is undefined; got ${shapes} (use reduction 'sum' or 'none')`);
  if (target.requiresGrad && isGradEnabled())
    throw new TensorboltError(op, `gradients do not flow to target, but it requires grad; pass target.detach() (${shapes})`);

  const be = backendOf(op, logits, target);
  const labels = target.dtype === 'int32' ? target.i32(op) : null;
  const targets = labels ? null : target.f32(op);
  const probs = empty(be, [n, c]);
  const loss = empty(be, [n]);
  try {
    be.softmaxXent(logits.f32(op), n, c, labels, targets, eps, probs.f32(op), loss.f32(op));
  } catch (e) {
    probs.dispose();
    loss.dispose();
    // TS checked every shape, so what remains is data: a label outside [0, C).
    const msg = (e as Error).message.replace(/^tensorbolt\.\w+: /, '');
    throw new TensorboltError(op, `${msg} (${shapes})`);
  }

  let out: Tensor;
  const code = reduction === 'mean' ? ReduceOp.mean : ReduceOp.sum;
  if (reduction === 'none') {
    out = loss;
  } else {
    // The batch's losses summed in double by the reduction kernel, on the logits' device.
    out = empty(be, []);
    be.reduce(code, loss.f32(op), out.f32(op), 1, n, 1);
  }

  // A second handle on the probabilities for the caller: the memory lives until both are disposed.
  const probsOut = wantProbs ? view(probs, [n, c]) : null;
  // The target is copied for backward so the caller may dispose (or reuse) its batch right away.
  const saved = [probs];
  const tgt = needsGrad(logits) ? copyTo(target, be, op) : null;
  if (tgt) saved.push(tgt);
  // the per-sample losses: the reduction's gradient kernel takes them (it reads only their length)
  if (reduction !== 'none') saved.push(loss);
  const recorded = record(op, out, [logits], (dy) => {
    let dloss = dy.f32(op);
    let tmp: Tensor | null = null;
    if (reduction !== 'none') {
      // Each sample's loss gradient: the scalar dy (over n for the mean) broadcast by the reduction's gradient.
      tmp = empty(be, [n]);
      dloss = tmp.f32(op);
      be.reduceBackward(code, loss.f32(op), out.f32(op), dy.f32(op), dloss, 1, n, 1);
    }
    const dlogits = empty(be, [n, c]);
    const t = tgt!;
    be.softmaxXentBackward(probs.f32(op), n, c, labels ? t.i32(op) : null, labels ? null : t.f32(op), eps,
                                 dloss, dlogits.f32(op));
    tmp?.dispose();
    return [dlogits];
  }, saved);
  return { loss: recorded, probs: probsOut };
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
  }
}
Tensor.prototype.softmax = function (axis?: number) { return softmax(this, axis); };
Tensor.prototype.logSoftmax = function (axis?: number) { return logSoftmax(this, axis); };
