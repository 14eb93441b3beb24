// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
import type { F32Buf, OpBackend } from '../native/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { TensorboltError } from '../tensor/errors.js';
import { Optimizer, checkBool, checkNum, type ParamGroup, type ParamState, type ResolvedGroup } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (PyTorch >= 2.2 defaults it to 1e-3). */
  lr: number;
  momentum: number;
  dampening: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  nesterov: boolean;
}

const DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

/**
 * PyTorch's rule, per parameter p with gradient g:
 *   g = g + weightDecay * p
 *   if momentum != 0:
 *     buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g
 *     g = nesterov ? g + momentum * buf : buf
 *   p = p - lr * g
 * With dampening 0 this is also Keras's SGD (velocity = momentum * velocity - lr * g) for a constant lr.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroup<SGDOptions>[], options?: Partial<SGDOptions>) {
    super('SGD', params, options, DEFAULTS);
  }

  protected checkOptions(o: SGDOptions): void {
    checkNum(this.name, 'learning rate lr', o.lr, 0);
    checkNum(this.name, 'momentum', o.momentum, 0);
    checkNum(this.name, 'dampening', o.dampening);
    checkNum(this.name, 'weightDecay', o.weightDecay, 0);
    checkBool(this.name, 'nesterov', o.nesterov);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0))
      throw new TensorboltError(this.name, `nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum}, dampening ${o.dampening}`);
  }

  protected stateNames(): readonly string[] {
    return ['momentumBuffer'];
  }

  protected override requiredState(g: ResolvedGroup<SGDOptions>): readonly string[] {
    return g.momentum !== 0 ? ['momentumBuffer'] : [];
  }

  protected update(be: OpBackend, p: Tensor, p32: F32Buf, g32: F32Buf, st: ParamState, g: ResolvedGroup<SGDOptions>): void {
    let buf: F32Buf | null = null;
    let first = false;
    if (g.momentum !== 0) {
      first = st.buffers.momentumBuffer === undefined;
      buf = this.buffer(st, p, 'momentumBuffer');
    }
    be.sgdStep(p32, g32, buf, g.lr, g.momentum, g.dampening, g.weightDecay, g.nesterov, first);
  }
}
