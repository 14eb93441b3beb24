// Loss modules with PyTorch's names: `const criterion = new nn.CrossEntropyLoss();
// criterion.forward(out, y)`. Each keeps its options (checked here, at construction) and calls the
// functional form, which checks the tensors and does the work.
import { TensorboltError, checkOptions, fmtValue } from '../tensor/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { maxArgs } from '../ops/util.js';
import { Module } from './module.js';
import * as F from './functional.js';

type Reduction = F.Reduction;

abstract class Loss<O extends { reduction?: Reduction }> extends Module {
  readonly options: Readonly<O>;
  protected constructor(op: string, options: O | undefined, keys: readonly string[]) {
    super();
    checkOptions(op, options);
    for (const k of Object.keys(options ?? {}))
      if (!keys.includes(k)) throw new TensorboltError(op, `unknown option '${k}'; valid options: ${keys.join(', ')}`);
    const r = options?.reduction;
    if (r !== undefined && r !== 'mean' && r !== 'sum' && r !== 'none')
      throw new TensorboltError(op, `reduction must be 'mean', 'sum' or 'none', got ${fmtValue(r)}`);
    this.options = Object.freeze({ ...options } as O);
  }
  protected abstract loss(input: Tensor, target: Tensor): Tensor;
  /** The loss of input against target (reduced as options.reduction says, 'mean' by default). */
  forward(input: Tensor, target: Tensor): Tensor {
    maxArgs(`${this.constructor.name}.forward`, arguments, 2, 'input, target');
    return this.loss(input, target);
  }
}

/** Softmax cross-entropy of logits (N, C) against class indices (N) int32 or probabilities (N, C). */
export class CrossEntropyLoss extends Loss<F.CrossEntropyOptions> {
  constructor(options?: F.CrossEntropyOptions) { super('CrossEntropyLoss', options, ['reduction', 'labelSmoothing']); }
  protected loss(input: Tensor, target: Tensor): Tensor { return F.crossEntropy(input, target, this.options); }
}

/** Negative log-likelihood of log-probabilities (N, C) (e.g. from LogSoftmax) at class indices (N). */
export class NLLLoss extends Loss<{ reduction?: Reduction }> {
  constructor(options?: { reduction?: Reduction }) { super('NLLLoss', options, ['reduction']); }
  protected loss(input: Tensor, target: Tensor): Tensor { return F.nllLoss(input, target, this.options); }
}

/** Mean squared error. */
export class MSELoss extends Loss<{ reduction?: Reduction }> {
  constructor(options?: { reduction?: Reduction }) { super('MSELoss', options, ['reduction']); }
  protected loss(input: Tensor, target: Tensor): Tensor { return F.mseLoss(input, target, this.options); }
}

/** Mean absolute error. */
export class L1Loss extends Loss<{ reduction?: Reduction }> {
  constructor(options?: { reduction?: Reduction }) { super('L1Loss', options, ['reduction']); }
  protected loss(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, this.options); }
}

/** Binary cross-entropy of probabilities (after a sigmoid). */
export class BCELoss extends Loss<{ reduction?: Reduction }> {
  constructor(options?: { reduction?: Reduction }) { super('BCELoss', options, ['reduction']); }
  protected loss(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropy(input, target, this.options); }
}

/** Binary cross-entropy of logits: a sigmoid and BCE in one, stable for any logit. */
export class BCEWithLogitsLoss extends Loss<{ reduction?: Reduction }> {
  constructor(options?: { reduction?: Reduction }) { super('BCEWithLogitsLoss', options, ['reduction']); }
  protected loss(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropyWithLogits(input, target, this.options); }
}
