// Adadelta with L2 weight decay (torch.optim.Adadelta).
import type { F32Buf, OpBackend } from '../native/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, checkNum, type ParamGroup, type ParamState, type ResolvedGroup } from './optimizer.js';

export interface AdadeltaOptions {
  /** Scales the update; the method itself needs none, hence PyTorch's default of 1. */
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
}

const DEFAULTS: AdadeltaOptions = { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0 };

/**
 * PyTorch's rule (also Keras's), per parameter p with gradient g:
 *   g = g + weightDecay * p
 *   sq = rho * sq + (1 - rho) * g²
 *   d = sqrt(acc + eps) / sqrt(sq + eps) * g
 *   acc = rho * acc + (1 - rho) * d²
 *   p = p - lr * d
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: Tensor[] | ParamGroup<AdadeltaOptions>[], options?: Partial<AdadeltaOptions>) {
    super('Adadelta', params, options, DEFAULTS);
  }

  protected checkOptions(o: AdadeltaOptions): void {
    checkNum(this.name, 'learning rate lr', o.lr, 0);
    checkNum(this.name, 'rho', o.rho, 0, 1);
    checkNum(this.name, 'eps', o.eps, 0);
    checkNum(this.name, 'weightDecay', o.weightDecay, 0);
  }

  protected stateNames(): readonly string[] {
    return ['squareAvg', 'accDelta'];
  }

  protected override nonNegativeState(): readonly string[] {
    return ['squareAvg', 'accDelta'];
  }

  protected update(be: OpBackend, p: Tensor, p32: F32Buf, g32: F32Buf, st: ParamState, g: ResolvedGroup<AdadeltaOptions>): void {
    const sq = this.buffer(st, p, 'squareAvg');
    const acc = this.buffer(st, p, 'accDelta');
    be.adadeltaStep(p32, g32, sq, acc, g.lr, g.rho, g.eps, g.weightDecay);
  }
}
