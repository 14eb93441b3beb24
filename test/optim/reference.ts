// Plain float64 re-implementations of PyTorch's update rules (torch/optim/*.py, single-tensor path),
// written from the formulas, independent of the native kernels they check.
export type Vec = Float64Array;

export interface RefState {
  step: number;
  [buf: string]: Vec | number;
}

function buf(st: RefState, name: string, n: number, init = 0): Vec {
  if (!(st[name] instanceof Float64Array)) st[name] = new Float64Array(n).fill(init);
  return st[name] as Vec;
}

export function refSGD(p: Vec, g0: Vec, st: RefState, o: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }): void {
  const first = !(st.momentumBuffer instanceof Float64Array);
  for (let i = 0; i < p.length; i++) {
    let g = g0[i]! + o.weightDecay * p[i]!;
    if (o.momentum !== 0) {
      const b = buf(st, 'momentumBuffer', p.length);
      b[i] = first ? g : o.momentum * b[i]! + (1 - o.dampening) * g;
      g = o.nesterov ? g + o.momentum * b[i]! : b[i]!;
    }
    p[i] = p[i]! - o.lr * g;
  }
}

export function refAdam(p: Vec, g0: Vec, st: RefState,
                        o: { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean }, decoupled: boolean): void {
  const n = p.length, [b1, b2] = o.betas;
  const m = buf(st, 'm', n), v = buf(st, 'v', n), vmax = buf(st, 'vmax', n);
  const t = st.step;
  const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
  for (let i = 0; i < n; i++) {
    let g = g0[i]!;
    if (decoupled) p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    else g += o.weightDecay * p[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * g;
    v[i] = b2 * v[i]! + (1 - b2) * g * g;
    let vh = v[i]!;
    if (o.amsgrad) vh = vmax[i] = Math.max(vmax[i]!, v[i]!);
    p[i] = p[i]! - (o.lr / bc1) * m[i]! / (Math.sqrt(vh) / Math.sqrt(bc2) + o.eps);
  }
}

export function refRMSprop(p: Vec, g0: Vec, st: RefState,
                           o: { lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean; epsInsideSqrt: boolean }): void {
  const n = p.length;
  const sq = buf(st, 'sq', n), ga = buf(st, 'ga', n), mb = buf(st, 'mb', n);
  for (let i = 0; i < n; i++) {
    const g = g0[i]! + o.weightDecay * p[i]!;
    sq[i] = o.alpha * sq[i]! + (1 - o.alpha) * g * g;
    let avg = sq[i]!;
    if (o.centered) {
      ga[i] = o.alpha * ga[i]! + (1 - o.alpha) * g;
      avg -= ga[i]! * ga[i]!;
    }
    const denom = o.epsInsideSqrt ? Math.sqrt(avg + o.eps) : Math.sqrt(avg) + o.eps;
    if (o.momentum > 0) {
      mb[i] = o.momentum * mb[i]! + g / denom;
      p[i] = p[i]! - o.lr * mb[i]!;
    } else {
      p[i] = p[i]! - o.lr * g / denom;
    }
  }
}

export function refAdagrad(p: Vec, g0: Vec, st: RefState,
                           o: { lr: number; lrDecay: number; weightDecay: number; eps: number; initialAccumulatorValue: number; epsInsideSqrt: boolean }): void {
  const sum = buf(st, 'sum', p.length, o.initialAccumulatorValue);
  const clr = o.lr / (1 + (st.step - 1) * o.lrDecay);
  for (let i = 0; i < p.length; i++) {
    const g = g0[i]! + o.weightDecay * p[i]!;
    sum[i] = sum[i]! + g * g;
    p[i] = p[i]! - clr * g / (o.epsInsideSqrt ? Math.sqrt(sum[i]! + o.eps) : Math.sqrt(sum[i]!) + o.eps);
  }
}

export function refAdadelta(p: Vec, g0: Vec, st: RefState, o: { lr: number; rho: number; eps: number; weightDecay: number }): void {
  const sq = buf(st, 'sq', p.length), acc = buf(st, 'acc', p.length);
  for (let i = 0; i < p.length; i++) {
    const g = g0[i]! + o.weightDecay * p[i]!;
    sq[i] = o.rho * sq[i]! + (1 - o.rho) * g * g;
    const d = (Math.sqrt(acc[i]! + o.eps) / Math.sqrt(sq[i]! + o.eps)) * g;
    acc[i] = o.rho * acc[i]! + (1 - o.rho) * d * d;
    p[i] = p[i]! - o.lr * d;
  }
}
