// RMSprop with optional momentum, centering and L2 weight decay (torch.optim.RMSprop).
import type { F32Buf, OpBackend } from '../native/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, checkBool, checkNum, type ParamGroup, type ParamState, type ResolvedGroup } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  /** Smoothing constant of the squared-gradient average (Keras calls it rho). */
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  /** Divide by the estimated variance (square average minus squared mean) instead of the square average. */
  centered: boolean;
  /** eps under the square root, sqrt(avg + eps), as Keras/TensorFlow do; PyTorch adds it after. */
  epsInsideSqrt: boolean;
}

const DEFAULTS: RMSpropOptions = {
  lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, epsInsideSqrt: false,
};

/**
 * PyTorch's rule, per parameter p with gradient g:
 *   g = g + weightDecay * p
 *   sq = alpha * sq + (1 - alpha) * g²
 *   avg = centered ? sq - gAvg² (gAvg = alpha * gAvg + (1 - alpha) * g) : sq
 *   denom = sqrt(avg) + eps            (epsInsideSqrt: sqrt(avg + eps), Keras's form)
 *   momentum > 0: buf = momentum * buf + g / denom; p = p - lr * buf
 *   otherwise:    p = p - lr * g / denom
 * Keras accumulates lr * g / denom in its momentum buffer; for a constant lr the two agree.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Tensor[] | ParamGroup<RMSpropOptions>[], options?: Partial<RMSpropOptions>) {
    super('RMSprop', params, options, DEFAULTS);
  }

  protected checkOptions(o: RMSpropOptions): void {
    checkNum(this.name, 'learning rate lr', o.lr, 0);
    checkNum(this.name, 'alpha', o.alpha, 0, 1);
    checkNum(this.name, 'eps', o.eps, 0);
    checkNum(this.name, 'weightDecay', o.weightDecay, 0);
    checkNum(this.name, 'momentum', o.momentum, 0);
    checkBool(this.name, 'centered', o.centered);
    checkBool(this.name, 'epsInsideSqrt', o.epsInsideSqrt);
  }

  protected stateNames(): readonly string[] {
    return ['squareAvg', 'momentumBuffer', 'gradAvg'];
  }

  protected override requiredState(g: ResolvedGroup<RMSpropOptions>): readonly string[] {
    return ['squareAvg', ...(g.momentum > 0 ? ['momentumBuffer'] : []), ...(g.centered ? ['gradAvg'] : [])];
  }

  protected override nonNegativeState(): readonly string[] {
    return ['squareAvg'];
  }

  protected update(be: OpBackend, p: Tensor, p32: F32Buf, g32: F32Buf, st: ParamState, g: ResolvedGroup<RMSpropOptions>): void {
    const sq = this.buffer(st, p, 'squareAvg');
    const mom = g.momentum > 0 ? this.buffer(st, p, 'momentumBuffer') : null;
    const avg = g.centered ? this.buffer(st, p, 'gradAvg') : null;
    be.rmspropStep(p32, g32, sq, mom, avg, g.lr, g.alpha, g.eps, g.weightDecay, g.momentum, g.epsInsideSqrt);
  }
}
