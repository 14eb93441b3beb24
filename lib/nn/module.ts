// nn.Module: PyTorch-style containers of parameters and submodules. Parameters and submodules are
// discovered from the instance's own properties (so class fields like `fc1 = new nn.Linear(...)`
// register themselves), including arrays of modules; buffers (running statistics) are tensors
// registered with registerBuffer().
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { engine } from '../tensor/engine.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor, assign, relocate } from '../tensor/tensor.js';
import { backendFor, getDefaultDevice, type DeviceName } from '../tensor/device.js';

const PARAM = Symbol('tensorbolt.parameter');

/** Marks t as a trainable parameter (requiresGrad, kept out of tidy scopes). */
export function parameter(t: Tensor): Tensor {
  if (t.dtype !== 'float32') throw new TensorboltError('parameter', `parameters must be float32, got ${t.dtype}`);
  t.requiresGrad = true;
  (t as unknown as Record<symbol, boolean>)[PARAM] = true;
  engine.keep(t);
  return t;
}

export function isParameter(t: unknown): t is Tensor {
  return t instanceof Tensor && (t as unknown as Record<symbol, boolean>)[PARAM] === true;
}

export type StateDict = Record<string, Tensor>;

export abstract class Module {
  /** train() / eval() mode: dropout and batch norm behave differently. */
  training = true;
  private _buffers = new Map<string, Tensor>();
  private _bufferNames = new Set<string>();
  /** @internal The device given to to(), where parameters made later (lazy builds) are put too. */
  _device: DeviceName | null = null;

  // Most modules take and return one Tensor; recurrent ones take an initial state and return
  // [output, state] (PyTorch's conventions), so the base signature allows any.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...inputs: any[]): unknown;

  /** Registers a non-trainable tensor saved in stateDict (e.g. running mean). */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    engine.keep(t);
    this._buffers.set(name, t);
    this._bufferNames.add(name);
    return t;
  }

  /** @internal Replaces a buffer's tensor (its old one is disposed). */
  protected setBuffer(name: string, t: Tensor): void {
    const old = this._buffers.get(name);
    engine.keep(t);
    this._buffers.set(name, t);
    if (old && old !== t) old.dispose();
  }

  protected buffer(name: string): Tensor {
    const b = this._buffers.get(name);
    if (!b) throw new TensorboltError(this.constructor.name, `no buffer named '${name}'`);
    return b;
  }

  /** Direct children: [name, module] for module-valued properties and arrays of modules. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (k.startsWith('_')) continue;
      if (v instanceof Module) out.push([k, v]);
      else if (Array.isArray(v)) v.forEach((m, i) => { if (m instanceof Module) out.push([`${k}.${i}`, m]); });
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** Own parameters (not those of children). */
  protected ownParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (k.startsWith('_')) continue;
      if (isParameter(v)) out.push([k, v]);
      else if (Array.isArray(v)) v.forEach((p, i) => { if (isParameter(p)) out.push([`${k}.${i}`, p]); });
    }
    return out;
  }

  /** All parameters with dotted names, depth-first, each once. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    const walk = (m: Module, pre: string): void => {
      for (const [k, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([pre + k, p]);
      }
      for (const [k, c] of m.namedChildren()) walk(c, `${pre}${k}.`);
    };
    walk(this, prefix);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, b] of this._buffers) out.push([prefix + k, b]);
    for (const [k, c] of this.namedChildren()) out.push(...c.namedBuffers(`${prefix}${k}.`));
    return out;
  }

  modules(): Module[] {
    return [this, ...this.children().flatMap((c) => c.modules())];
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets every parameter's .grad to null (disposing it). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Parameters and buffers by dotted name. The tensors are the module's own (not copies). */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [k, p] of this.namedParameters()) sd[k] = p;
    for (const [k, b] of this.namedBuffers()) sd[k] = b;
    return sd;
  }

  /** Copies values from sd into this module's tensors (shapes must match). */
  loadStateDict(sd: StateDict | Record<string, Tensor | Float32Array>, strict = true): void {
    const own = this.stateDict();
    const op = `${this.constructor.name}.loadStateDict`;
    if (!sd || typeof sd !== 'object' || Array.isArray(sd))
      throw new TensorboltError(op, `expects an object of named tensors (e.g. tb.load('x.safetensors')), got ${fmtValue(sd)}`);
    // own keys only: 'constructor' or 'toString' are not entries of a state dict
    const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    if (strict) {
      const missing = Object.keys(own).filter((k) => !has(sd, k));
      const unexpected = Object.keys(sd).filter((k) => !has(own, k));
      if (missing.length || unexpected.length)
        throw new TensorboltError(op, `keys differ: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
    }
    // Check every entry before copying any: a bad entry must not leave the module half loaded.
    const copies: [Tensor, Tensor | Float32Array][] = [];
    for (const [k, dst] of Object.entries(own)) {
      const src = has(sd, k) ? sd[k] : undefined;
      if (src === undefined) continue;
      if (!(src instanceof Tensor) && !(src instanceof Float32Array))
        throw new TensorboltError(op, `'${k}' must be a Tensor or a Float32Array, got ${src === null ? 'null' : typeof src}`);
      if (src instanceof Tensor) src.buf(op);
      const n = src instanceof Tensor ? src.size : src.length;
      if (src instanceof Tensor && src.shape.join(',') !== dst.shape.join(','))
        throw new TensorboltError(op, `'${k}' has shape ${fmtShape(src.shape)}, expected ${fmtShape(dst.shape)}`);
      if (n !== dst.size) throw new TensorboltError(op, `'${k}' has ${n} values, expected ${dst.size}`);
      dst.buf(op);
      copies.push([dst, src]);
    }
    // Onto this module's devices, from tensors on any device.
    noGrad(() => {
      for (const [dst, src] of copies) assign(dst, src, op);
    });
  }

  /**
   * Moves every parameter (with its gradient) and buffer to `device`, in place: the Tensor objects
   * stay the same, so an optimizer made before keeps working (its state follows on its next step).
   */
  to(device: DeviceName | 'cuda:0'): this {
    const op = `${this.constructor.name}.to`;
    const be = backendFor(op, device);
    for (const m of this.modules()) m._device = be.device;
    this.syncDevice(op);
    return this;
  }

  /** Where the parameters live: the device given to to(), else the first parameter's, else the default device. */
  get device(): DeviceName {
    return this._device ?? this.parameters()[0]?.device ?? getDefaultDevice();
  }

  /** @internal Puts every parameter, gradient and buffer on the device given to to() (after a lazy build). */
  syncDevice(op = `${this.constructor.name}.to`): void {
    if (this._device === null) return;
    const be = backendFor(op, this._device);
    for (const p of this.parameters()) {
      relocate(p, be, op);
      if (p.grad && !p.grad.isDisposed) relocate(p.grad, be, op);
    }
    for (const [, b] of this.namedBuffers()) relocate(b, be, op);
  }

  /** Total number of parameter values. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}
