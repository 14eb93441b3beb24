// Learning-rate schedules with PyTorch's semantics (torch.optim.lr_scheduler): construction records
// each group's initialLr and applies epoch 0; each step() advances one epoch (or one batch, as the
// user chooses) and writes the new lr into every parameter group. StepLR, MultiStepLR, ExponentialLR
// and CosineAnnealingLR use PyTorch's recursive ("chainable") forms, so they compose with other
// changes to group.lr the way PyTorch's do; LambdaLR is closed-form, as in PyTorch.
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { Optimizer, checkNum } from './optimizer.js';

export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
}

export abstract class LRScheduler {
  readonly name: string;
  readonly optimizer: Optimizer;
  /** Epochs stepped so far (0 right after construction). */
  lastEpoch = -1;
  /** Each group's initialLr: where the schedule starts. */
  baseLrs: number[];
  private lastLr: number[] = [];

  protected constructor(name: string, optimizer: Optimizer) {
    this.name = name;
    if (!(optimizer instanceof Optimizer))
      throw new TensorboltError(name, `expected an Optimizer (e.g. new tb.optim.SGD(...)), got ${optimizer === null ? 'null' : typeof optimizer}`);
    this.optimizer = optimizer;
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
  }

  /** Subclasses call this at the end of their constructor: PyTorch's initial step to epoch 0. */
  protected start(): void {
    this.step();
  }

  /** The lr of group i for this.lastEpoch, given its current lr (recursive forms) and base lr. */
  protected abstract computeLr(current: number, base: number): number;

  /** Advances one epoch and sets every group's lr. */
  step(): void {
    this.lastEpoch++;
    const groups = this.optimizer.paramGroups;
    // Groups added after the scheduler start from their own lr.
    for (let i = this.baseLrs.length; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.initialLr === undefined) g.initialLr = g.lr;
      this.baseLrs.push(g.initialLr);
    }
    this.lastLr = groups.map((g, i) => {
      const lr = this.computeLr(g.lr, this.baseLrs[i]!);
      if (!Number.isFinite(lr) || lr < 0)
        throw new TensorboltError(this.name, `computed an invalid learning rate ${lr} for group ${i} at epoch ${this.lastEpoch}`);
      g.lr = lr;
      return lr;
    });
  }

  /** The lr of each group as set by the last step(). */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: this.baseLrs.slice(), lastLr: this.lastLr.slice() };
  }

  /** Restores the schedule's position; the optimizer's lrs come back with its own loadStateDict. */
  loadStateDict(sd: SchedulerStateDict): void {
    const ok = sd && Number.isInteger(sd.lastEpoch) && sd.lastEpoch >= 0 && Array.isArray(sd.baseLrs) && Array.isArray(sd.lastLr) &&
      sd.baseLrs.every((x) => Number.isFinite(x)) && sd.lastLr.every((x) => Number.isFinite(x));
    if (!ok) throw new TensorboltError(this.name, 'loadStateDict expects { lastEpoch, baseLrs, lastLr } as returned by stateDict()');
    this.lastEpoch = sd.lastEpoch;
    this.baseLrs = sd.baseLrs.slice();
    this.lastLr = sd.lastLr.slice();
  }
}

function checkInt(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new TensorboltError(op, `invalid ${name} ${fmtValue(v)}: must be an integer >= ${min}`);
  return v;
}

/** lr = initialLr * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: { stepSize: number; gamma?: number }) {
    super('StepLR', optimizer);
    this.stepSize = checkInt(this.name, 'stepSize', opts?.stepSize, 1);
    this.gamma = opts.gamma ?? 0.1;
    checkNum(this.name, 'gamma', this.gamma, 0);
    this.start();
  }

  protected computeLr(current: number): number {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return current;
    return current * this.gamma;
  }
}

/** lr = initialLr * gamma^(number of milestones <= epoch). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: { milestones: number[]; gamma?: number }) {
    super('MultiStepLR', optimizer);
    if (!Array.isArray(opts?.milestones)) throw new TensorboltError(this.name, 'milestones must be an array of epochs');
    this.milestones = opts.milestones.map((m, i) => checkInt(this.name, `milestones[${i}]`, m, 1)).sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    checkNum(this.name, 'gamma', this.gamma, 0);
    this.start();
  }

  protected computeLr(current: number): number {
    // A milestone listed k times multiplies by gamma^k, as PyTorch's Counter does.
    let k = 0;
    for (const m of this.milestones) if (m === this.lastEpoch) k++;
    return k === 0 ? current : current * this.gamma ** k;
  }
}

/** lr = initialLr * gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: { gamma: number }) {
    super('ExponentialLR', optimizer);
    this.gamma = opts?.gamma;
    checkNum(this.name, 'gamma', this.gamma, 0);
    this.start();
  }

  protected computeLr(current: number): number {
    return this.lastEpoch === 0 ? current : current * this.gamma;
  }
}

/**
 * Cosine from initialLr down to etaMin over tMax epochs, then back up (PyTorch does not stop at tMax:
 * the curve continues periodically with period 2 * tMax). Without outside changes to lr this is
 * lr = etaMin + (initialLr - etaMin) * (1 + cos(pi * epoch / tMax)) / 2.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, opts: { tMax: number; etaMin?: number }) {
    super('CosineAnnealingLR', optimizer);
    this.tMax = checkInt(this.name, 'tMax', opts?.tMax, 1);
    this.etaMin = opts.etaMin ?? 0;
    checkNum(this.name, 'etaMin', this.etaMin, 0);
    this.start();
  }

  protected computeLr(current: number, base: number): number {
    const t = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    if (t === 0) return current;
    if ((t - 1 - T) % (2 * T) === 0) return current + ((base - eta) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (current - eta) + eta;
  }
}

/** lr = initialLr * lambda(epoch). */
export class LambdaLR extends LRScheduler {
  private readonly fn: (epoch: number) => number;

  constructor(optimizer: Optimizer, opts: { lrLambda: (epoch: number) => number }) {
    super('LambdaLR', optimizer);
    if (typeof opts?.lrLambda !== 'function') throw new TensorboltError(this.name, 'lrLambda must be a function of the epoch');
    this.fn = opts.lrLambda;
    this.start();
  }

  protected computeLr(_current: number, base: number): number {
    return base * this.fn(this.lastEpoch);
  }
}
