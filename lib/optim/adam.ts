// Adam (L2 weight decay) and AdamW (decoupled weight decay), with optional AMSGrad (torch.optim.Adam/AdamW).
import type { F32Buf, OpBackend } from '../native/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { Optimizer, checkBool, checkNum, type ParamGroup, type ParamState, type ResolvedGroup } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  /** (beta1, beta2): decay rates of the first and second moment estimates, each in [0, 1). */
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false };
const ADAMW_DEFAULTS: AdamOptions = { ...ADAM_DEFAULTS, weightDecay: 1e-2 };

/** What Adam and AdamW share: everything but their name, default weight decay and decay rule. */
abstract class AdamBase extends Optimizer<AdamOptions> {
  private readonly decoupled: boolean;

  protected constructor(name: string, params: Tensor[] | ParamGroup<AdamOptions>[], options: Partial<AdamOptions> | undefined,
                        defaults: AdamOptions, decoupled: boolean) {
    super(name, params, options, defaults);
    this.decoupled = decoupled;
  }

  protected checkOptions(o: AdamOptions): void {
    checkNum(this.name, 'learning rate lr', o.lr, 0);
    if (!Array.isArray(o.betas) || o.betas.length !== 2)
      throw new TensorboltError(this.name, `invalid betas ${fmtValue(o.betas)}: must be [beta1, beta2]`);
    checkNum(this.name, 'beta1 (betas[0])', o.betas[0], 0, 1, { maxOpen: true });
    checkNum(this.name, 'beta2 (betas[1])', o.betas[1], 0, 1, { maxOpen: true });
    checkNum(this.name, 'eps', o.eps, 0);
    checkNum(this.name, 'weightDecay', o.weightDecay, 0);
    checkBool(this.name, 'amsgrad', o.amsgrad);
  }

  protected stateNames(): readonly string[] {
    return ['expAvg', 'expAvgSq', 'maxExpAvgSq'];
  }

  protected override requiredState(g: ResolvedGroup<AdamOptions>): readonly string[] {
    return g.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'];
  }

  protected override nonNegativeState(): readonly string[] {
    return ['expAvgSq', 'maxExpAvgSq'];
  }

  protected update(be: OpBackend, p: Tensor, p32: F32Buf, g32: F32Buf, st: ParamState, g: ResolvedGroup<AdamOptions>): void {
    const m = this.buffer(st, p, 'expAvg');
    const v = this.buffer(st, p, 'expAvgSq');
    const vmax = g.amsgrad ? this.buffer(st, p, 'maxExpAvgSq') : null;
    be.adamStep(p32, g32, m, v, vmax, g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay, this.decoupled, st.step);
  }
}

/**
 * PyTorch's rule, per parameter p with gradient g at step t (1, 2, ...):
 *   Adam:  g = g + weightDecay * p              AdamW: p = p * (1 - lr * weightDecay)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g²
 *   vmax = max(vmax, v) with amsgrad (then used in place of v below)
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * Keras's Adam puts its epsilon ("epsilon hat") outside the bias correction, p -= lr * sqrt(1 -
 * beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon), i.e. PyTorch's eps = epsilon / sqrt(1 - beta2^t):
 * the two differ only while sqrt(v) is comparable to eps, and only in the first few hundred steps.
 */
export class Adam extends AdamBase {
  constructor(params: Tensor[] | ParamGroup<AdamOptions>[], options?: Partial<AdamOptions>) {
    super('Adam', params, options, ADAM_DEFAULTS, false);
  }
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's AdamW: the same rule as Adam
 * except that the decay shrinks p directly, p = p * (1 - lr * weightDecay), instead of being added
 * to the gradient; weightDecay defaults to 1e-2.
 */
export class AdamW extends AdamBase {
  constructor(params: Tensor[] | ParamGroup<AdamOptions>[], options?: Partial<AdamOptions>) {
    super('AdamW', params, options, ADAMW_DEFAULTS, true);
  }
}
