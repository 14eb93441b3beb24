// The Optimizer base: parameter groups, per-parameter state allocated on first use, one step() over
// every group, state dicts. Subclasses supply only the hyper-parameter checks and the per-parameter
// update, which is one fused kernel (lib/native/kernels.ts, "optimizer updates") on the parameter's
// device; its state lives there too, and follows the parameter when the model moves (Module.to).
import type { F32Buf, OpBackend } from '../native/backend.js';
import { full } from '../tensor/creation.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { keep } from '../tensor/tidy.js';
import { Tensor, assign, hostValues, relocate } from '../tensor/tensor.js';

/** Hyper-parameters every optimizer has. */
export interface BaseOptions {
  lr: number;
}

/** A parameter group as the user passes it: its parameters plus any per-group hyper-parameters. */
export type ParamGroup<O extends BaseOptions = BaseOptions> = { params: Tensor[] } & Partial<O> & GroupExtras;

/** Keys a group may carry besides the optimizer's own options. */
export interface GroupExtras {
  /** A label, e.g. 'decoder'. */
  name?: string;
  /** Set by the LR schedulers: the lr the schedule started from (PyTorch's initial_lr). */
  initialLr?: number;
}

/** A group as the optimizer holds it: every hyper-parameter resolved. */
export type ResolvedGroup<O extends BaseOptions = BaseOptions> = O & GroupExtras & { params: Tensor[] };

/** Per-parameter state: the number of updates applied and the optimizer's buffers. */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
}

/** What stateDict() returns and loadStateDict() takes (PyTorch's layout, camelCase keys). */
export interface OptimizerStateDict {
  /** Keyed by the parameter's index in the order of paramGroups[*].params. */
  state: Record<number, { step: number } & Record<string, Tensor | Float32Array | number[] | number>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

const EXTRA_KEYS = ['name', 'initialLr'];

/** Numeric option check: finite, within [min, max] (either end optionally open). */
export function checkNum(op: string, name: string, v: unknown, min = -Infinity, max = Infinity,
                         opts: { minOpen?: boolean; maxOpen?: boolean } = {}): void {
  const ok = typeof v === 'number' && Number.isFinite(v) && (opts.minOpen ? v > min : v >= min) &&
    (opts.maxOpen ? v < max : v <= max);
  if (ok) return;
  const lo = min === -Infinity ? '' : `${opts.minOpen ? '>' : '>='} ${min}`;
  const hi = max === Infinity ? '' : `${opts.maxOpen ? '<' : '<='} ${max}`;
  const range = [lo, hi].filter(Boolean).join(' and ');
  throw new TensorboltError(op, `invalid ${name} ${describeValue(v)}: must be a finite number${range ? ' ' + range : ''}`);
}

export function checkBool(op: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TensorboltError(op, `invalid ${name} ${describeValue(v)}: must be a boolean`);
}

function describeValue(v: unknown): string {
  if (v instanceof Tensor) return `Tensor ${fmtShape(v.shape)}`;
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  return fmtValue(v); // never throws (String() does on a null-prototype object)
}

export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  /** The name used in error messages ('SGD', 'Adam', ...). */
  readonly name: string;
  /** Hyper-parameters a new group gets for every option it does not set. */
  readonly defaults: O;
  readonly paramGroups: ResolvedGroup<O>[] = [];
  /** @internal per-parameter state, created on the parameter's first update */
  protected readonly state = new Map<Tensor, ParamState>();

  /**
   * params: a list of tensors (one group) or a list of groups with per-group options. An empty list
   * is allowed (Keras-style compile creates the optimizer before the model's weights exist); add
   * groups later with addParamGroup().
   */
  protected constructor(name: string, params: Tensor[] | ParamGroup<O>[], options: Partial<O> | undefined, defaults: O) {
    this.name = name;
    if (!Array.isArray(params))
      throw new TensorboltError(name, `params must be an array of tensors or of parameter groups, got ${describeValue(params)}`);
    if (options !== undefined && (options === null || typeof options !== 'object'))
      throw new TensorboltError(name, `options must be an object, got ${describeValue(options)}`);
    this.checkKeys(options ?? {}, Object.keys(defaults), 'option');
    this.defaults = cloneOptions({ ...defaults, ...defined(options ?? {}) } as Record<string, unknown>) as O;
    this.checkOptions(this.defaults);
    if (params.length === 0) return;
    const groups: ParamGroup<O>[] = params[0] instanceof Tensor
      ? [{ params: params as Tensor[] } as ParamGroup<O>]
      : (params as ParamGroup<O>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Throws TensorboltError(this.name, ...) on an invalid hyper-parameter. */
  protected abstract checkOptions(o: O): void;

  /** Names of the state buffers this optimizer keeps per parameter (for loadStateDict). */
  protected abstract stateNames(): readonly string[];

  /**
   * The buffers a parameter updated at least once must have under group g's hyper-parameters: a
   * state dict without them would restart them from zero and resume somewhere else.
   */
  protected requiredState(_g: ResolvedGroup<O>): readonly string[] {
    return this.stateNames();
  }

  /** Buffers that hold squares (second moments, sums of squares): a negative value is corruption. */
  protected nonNegativeState(): readonly string[] {
    return [];
  }

  /** Applies one update to p (buffers p32/g32 of backend be) with state st (st.step already incremented). */
  protected abstract update(be: OpBackend, p: Tensor, p32: F32Buf, g32: F32Buf, st: ParamState, group: ResolvedGroup<O>): void;

  addParamGroup(group: ParamGroup<O>): void {
    const op = `${this.name}.addParamGroup`;
    if (!group || typeof group !== 'object' || !Array.isArray(group.params))
      throw new TensorboltError(op, `a parameter group must be an object with a params array, got ${describeValue(group)}`);
    this.checkKeys(group as Record<string, unknown>, ['params', ...Object.keys(this.defaults), ...EXTRA_KEYS], 'parameter group');
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    group.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TensorboltError(op, `params[${i}] must be a Tensor, got ${describeValue(p)}`);
      p.f32(op);
      if (!p.isLeaf)
        throw new TensorboltError(op, `params[${i}] ${fmtShape(p.shape)} is not a leaf tensor (it was computed by an op); optimize the parameters themselves`);
      if (seen.has(p))
        throw new TensorboltError(op, `params[${i}] ${fmtShape(p.shape)} appears more than once across parameter groups`);
      seen.add(p);
    });
    const resolved = { ...cloneOptions(this.defaults as unknown as Record<string, unknown>), ...defined(group), params: group.params.slice() } as unknown as ResolvedGroup<O>;
    this.checkOptions(resolved);
    this.paramGroups.push(resolved);
  }

  /** Every parameter of every group, in order (the indices stateDict uses). */
  params(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * Clears every parameter's gradient: drops (and disposes) it when setToNone, as PyTorch does by
   * default, else fills it with zeros in place.
   */
  zeroGrad(setToNone = true): void {
    for (const p of this.params()) {
      const g = p.grad;
      if (!g) continue;
      if (setToNone) {
        p.grad = null;
        g.dispose();
      } else if (!g.isDisposed) {
        g._be.fill(g.f32(`${this.name}.zeroGrad`), 0);
      }
    }
  }

  /** One update of every parameter that has a gradient; parameters whose grad is null are skipped. */
  step(): void {
    const op = `${this.name}.step`;
    for (const group of this.paramGroups) {
      // Schedulers and users change hyper-parameters between steps; check what is in force now.
      this.checkOptions(group);
      for (const p of group.params) {
        const g = p.grad;
        if (g === null || g === undefined) continue;
        const p32 = p.f32(op);
        if (!(g instanceof Tensor)) throw new TensorboltError(op, `grad of parameter ${fmtShape(p.shape)} is not a Tensor`);
        const g32 = g.f32(op);
        if (g.size !== p.size)
          throw new TensorboltError(op, `grad ${fmtShape(g.shape)} does not match parameter ${fmtShape(p.shape)}`);
        if (g._be !== p._be)
          throw new TensorboltError(op, `the grad of parameter ${fmtShape(p.shape)} is on '${g.device}' but the parameter is on '${p.device}'; move one with .to('${p.device}')`);
        let st = this.state.get(p);
        if (!st) this.state.set(p, (st = { step: 0, buffers: {} }));
        st.step++;
        this.update(p._be, p, p32, g32, st, group);
      }
    }
  }

  /**
   * The buffer `name` of a parameter on the parameter's device: created filled with `init` on first
   * use, kept out of tidy scopes, moved along when the parameter has moved to another device.
   */
  protected buffer(st: ParamState, p: Tensor, name: string, init = 0): F32Buf {
    return this.bufferTensor(st, p, name, init).f32(`${this.name}.step`);
  }

  private bufferTensor(st: ParamState, p: Tensor, name: string, init = 0): Tensor {
    let t = st.buffers[name];
    if (!t || t.isDisposed) st.buffers[name] = t = keep(full(p.shape.slice(), init, { device: p.device }));
    else if (t._be !== p._be) relocate(t, p._be, `${this.name}.step`);
    return t;
  }

  /** The state of one parameter (undefined before its first update). */
  getState(p: Tensor): ParamState | undefined {
    return this.state.get(p);
  }

  /**
   * The optimizer's state: per-parameter buffers (the optimizer's own tensors, not copies; copy them
   * before changing them) and each group's hyper-parameters with its parameters as indices.
   */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const { params, ...hyper } = g;
      const ids: number[] = [];
      for (const p of params) {
        const st = this.state.get(p);
        if (st) state[index] = { step: st.step, ...st.buffers };
        ids.push(index++);
      }
      paramGroups.push({ ...cloneOptions(hyper), params: ids });
    }
    return { state, paramGroups };
  }

  /** Restores what stateDict() returned (buffers are copied, so the dict may be disposed after). */
  loadStateDict(sd: OptimizerStateDict): void {
    this.checkStateDict(sd)();
  }

  /**
   * @internal Checks a state dict completely and returns what applies it (which cannot fail), so a
   * caller restoring more than the optimizer (loadCheckpoint) can check everything first.
   */
  checkStateDict(sd: OptimizerStateDict): () => void {
    const op = `${this.name}.loadStateDict`;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object' || sd.state === null)
      throw new TensorboltError(op, 'expected an object { state, paramGroups } as returned by stateDict()');
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new TensorboltError(op, `the state dict has ${sd.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    const params = this.params();
    // Check everything before changing anything, so a bad dict leaves the optimizer as it was.
    const groups = sd.paramGroups.map((sg, gi) => {
      const mine = this.paramGroups[gi]!;
      if (!Array.isArray(sg.params) || sg.params.length !== mine.params.length)
        throw new TensorboltError(op, `parameter group ${gi} has ${Array.isArray(sg.params) ? sg.params.length : 'no'} parameters in the state dict, ${mine.params.length} in the optimizer`);
      const { params: _ids, ...hyper } = sg;
      this.checkKeys(hyper, [...Object.keys(this.defaults), ...EXTRA_KEYS], `parameter group ${gi}`);
      const resolved = { ...mine, ...cloneOptions(hyper) } as ResolvedGroup<O>;
      this.checkOptions(resolved);
      return resolved;
    });
    const names = this.stateNames();
    const nonNegative = this.nonNegativeState();
    const groupOf = groups.flatMap((g) => g.params.map(() => g));
    const loaded = new Map<Tensor, { step: number; buffers: Record<string, Tensor | Float32Array> }>();
    for (const [key, entry] of Object.entries(sd.state)) {
      const idx = Number(key);
      const p = params[idx];
      if (!Number.isInteger(idx) || !p) throw new TensorboltError(op, `state for parameter ${key}, but the optimizer has ${params.length} parameters`);
      if (!entry || typeof entry !== 'object') throw new TensorboltError(op, `state ${key} must be an object`);
      const { step, ...bufs } = entry;
      if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
        throw new TensorboltError(op, `state ${key}: step must be a non-negative integer, got ${describeValue(step)}`);
      const buffers: Record<string, Tensor | Float32Array> = {};
      for (const [name, v] of Object.entries(bufs)) {
        if (!names.includes(name))
          throw new TensorboltError(op, `state ${key}: unknown buffer '${name}' (${this.name} keeps ${names.join(', ')})`);
        if (v instanceof Tensor) v.f32(op);
        const data = v instanceof Tensor || v instanceof Float32Array ? v : Array.isArray(v) ? Float32Array.from(v) : null;
        if (!data) throw new TensorboltError(op, `state ${key}.${name} must be a Tensor, Float32Array or number[], got ${describeValue(v)}`);
        const len = data instanceof Tensor ? data.size : data.length;
        if (len !== p.size)
          throw new TensorboltError(op, `state ${key}.${name} has ${len} values; parameter ${key} is ${fmtShape(p.shape)} (${p.size})`);
        // read on the host once, at load (a device tensor is downloaded)
        const values = data instanceof Tensor ? (hostValues(data, op) as Float32Array) : data;
        const bad = firstBad(values, nonNegative.includes(name));
        if (bad >= 0)
          throw new TensorboltError(op, `state ${key}.${name}[${bad}] is ${values[bad]}${nonNegative.includes(name) ? ' (it holds squares: finite and >= 0)' : ' (must be finite)'}; the state is corrupted`);
        buffers[name] = data;
      }
      const missing = step > 0 ? this.requiredState(groupOf[idx]!).filter((n) => !(n in buffers)) : [];
      if (missing.length)
        throw new TensorboltError(op, `state ${key} is incomplete: step ${step} but no ${missing.join(', ')} (${this.name} with these settings keeps ${this.requiredState(groupOf[idx]!).join(', ')}); resuming without them would restart them from zero`);
      loaded.set(p, { step, buffers });
    }
    return () => {
      groups.forEach((g, gi) => Object.assign(this.paramGroups[gi]!, g));
      this.disposeState();
      for (const [p, { step, buffers }] of loaded) {
        const st: ParamState = { step, buffers: {} };
        // on the parameter's device, whatever device the state dict's tensors are on
        for (const [name, data] of Object.entries(buffers)) assign(this.bufferTensor(st, p, name), data, op);
        this.state.set(p, st);
      }
    };
  }

  /**
   * The learning rate: reading gives the first group's (or the default when there is no group);
   * writing sets it on every group and on the defaults (what a Keras callback expects).
   */
  get learningRate(): number {
    return this.paramGroups[0]?.lr ?? this.defaults.lr;
  }

  set learningRate(lr: number) {
    checkNum(this.name, 'learning rate', lr, 0);
    this.defaults.lr = lr;
    for (const g of this.paramGroups) g.lr = lr;
  }

  /** Frees every state buffer (the optimizer can still step; state restarts from zero). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const st of this.state.values()) for (const t of Object.values(st.buffers)) t.dispose();
    this.state.clear();
  }

  private checkKeys(o: Record<string, unknown>, allowed: string[], what: string): void {
    for (const k of Object.keys(o))
      if (!allowed.includes(k))
        throw new TensorboltError(this.name, `unknown ${what} key '${k}'; valid keys: ${allowed.join(', ')}`);
  }
}

/** Index of the first NaN or infinity (or negative value, when nonNegative) in data; -1 if none. */
function firstBad(data: Float32Array, nonNegative: boolean): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v - v === 0) || (nonNegative && v < 0)) return i;
  }
  return -1;
}

// `{ lr: undefined }` means "not set", as in an options bag built from optional fields.
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// Options hold numbers, booleans and small arrays (betas); copy arrays so dicts do not alias groups.
function cloneOptions<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = Array.isArray(v) ? v.slice() : v;
  return out as T;
}
