// Adagrad with learning-rate decay and L2 weight decay (torch.optim.Adagrad).
import type { F32Buf, OpBackend } from '../native/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, checkBool, checkNum, type ParamGroup, type ParamState, type ResolvedGroup } from './optimizer.js';

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
  /** Starting value of the squared-gradient sum (Keras defaults it to 0.1). */
  initialAccumulatorValue: number;
  /** eps under the square root, sqrt(sum + eps), as Keras/TensorFlow do; PyTorch adds it after. */
  epsInsideSqrt: boolean;
}

const DEFAULTS: AdagradOptions = {
  lr: 1e-2, lrDecay: 0, weightDecay: 0, eps: 1e-10, initialAccumulatorValue: 0, epsInsideSqrt: false,
};

/**
 * PyTorch's rule, per parameter p with gradient g at step t (1, 2, ...):
 *   g = g + weightDecay * p
 *   clr = lr / (1 + (t - 1) * lrDecay)
 *   sum = sum + g²                     (sum starts at initialAccumulatorValue)
 *   p = p - clr * g / (sqrt(sum) + eps)   (epsInsideSqrt: / sqrt(sum + eps), Keras's form)
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Tensor[] | ParamGroup<AdagradOptions>[], options?: Partial<AdagradOptions>) {
    super('Adagrad', params, options, DEFAULTS);
  }

  protected checkOptions(o: AdagradOptions): void {
    checkNum(this.name, 'learning rate lr', o.lr, 0);
    checkNum(this.name, 'lrDecay', o.lrDecay, 0);
    checkNum(this.name, 'weightDecay', o.weightDecay, 0);
    checkNum(this.name, 'eps', o.eps, 0);
    checkNum(this.name, 'initialAccumulatorValue', o.initialAccumulatorValue, 0);
    checkBool(this.name, 'epsInsideSqrt', o.epsInsideSqrt);
  }

  protected stateNames(): readonly string[] {
    return ['sum'];
  }

  protected override nonNegativeState(): readonly string[] {
    return ['sum'];
  }

  protected update(be: OpBackend, p: Tensor, p32: F32Buf, g32: F32Buf, st: ParamState, g: ResolvedGroup<AdagradOptions>): void {
    const sum = this.buffer(st, p, 'sum', g.initialAccumulatorValue);
    be.adagradStep(p32, g32, sum, g.lr, g.lrDecay, g.weightDecay, g.eps, st.step, g.epsInsideSqrt);
  }
}
