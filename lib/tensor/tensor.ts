// The Tensor: a shape, a dtype and a contiguous buffer on one device, plus the autograd fields.
// Ops see the buffer only as an opaque handle for kernels (buf/f32/i32); values reach the host
// through host() (CPU tensors, no copy) or dataSync()/data()/arraySync()/item() (any device, a copy).
// Operations are attached as methods by lib/ops (which depends on this file, never the reverse).
import { cpu, transfer, type AnyBuf, type DeviceName, type F32Buf, type HostArray, type I32Buf, type OpBackend } from '../native/backend.js';
import { engine, type DType } from './engine.js';
import { TensorboltError, fmtShape } from './errors.js';
import { sizeOf } from './shape.js';

export type { DType } from './engine.js';
export type Device = DeviceName;

/** One recorded operation: how to turn the output's gradient into the inputs' gradients. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Returns one gradient per input (null where the input needs none). Runs with grad disabled. */
  backward: (dy: Tensor) => (Tensor | null)[];
  /** Tensors made only for the backward pass; disposed once backward has run. */
  saved: Tensor[];
}

// Node 20 ships Symbol.dispose; older runtimes get the well-known registry symbol.
const disposeSym: typeof Symbol.dispose =
  (Symbol as { dispose?: symbol }).dispose as typeof Symbol.dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

export class Tensor {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  /** Whether gradients flow into this tensor (set on parameters; propagated through ops). */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after backward(). */
  grad: Tensor | null = null;
  /** Optional label shown in errors and summaries. */
  name: string | undefined;
  /** @internal */ _buf: AnyBuf | null;
  /** @internal the backend (device) whose memory _buf is */ _be: OpBackend;
  /** @internal */ _node: GradNode | null = null;
  /** @internal set once backward has freed this tensor's graph node */ _released = false;
  /** @internal the memory, shared by views (reshape); given back to its backend when the last user goes */
  _store: Storage;
  /** @internal bytes counted for this tensor in the engine's live total */ _bytes = 0;
  /** @internal whether the engine's finalization registry watches this tensor */ _registered = false;
  /** @internal run by backward() once it has accumulated this leaf's .grad (registerGradHook) */
  _gradHooks: ((t: Tensor) => void)[] | null = null;

  /** @internal Use tb.tensor(), tb.zeros() etc. */
  constructor(be: OpBackend, buf: AnyBuf, shape: readonly number[], dtype: DType, owned: boolean, store?: Storage, shared = false) {
    this.id = engine.nextId++;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = sizeOf(shape);
    if (buf.length !== this.size)
      throw new TensorboltError('tensor', `buffer of ${buf.length} elements does not fit shape ${fmtShape(shape)}`);
    this._buf = buf;
    this._be = be;
    if (store) {
      store.refs++;
      this._store = store;
    } else {
      this._store = { refs: 1, owned, shared };
    }
    engine.track(this, store ? 0 : this.size * 4);
  }

  /** Where the values live: 'cpu' or 'cuda'. */
  get device(): DeviceName {
    return this._be.device;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this._buf === null;
  }

  /** True for tensors not produced by a recorded op (parameters, inputs). */
  get isLeaf(): boolean {
    return this._node === null;
  }

  /**
   * @internal The memory as kernels take it (opaque); throws on a disposed tensor, or on a CPU
   * tensor over the caller's array whose memory was taken away.
   */
  buf(op = 'tensor'): AnyBuf {
    const b = this._buf;
    if (b === null)
      throw new TensorboltError(op, `tensor #${this.id} ${fmtShape(this.shape)} was used after dispose()`);
    // Memory the caller handed to tb.tensor stays theirs: transferring its ArrayBuffer (postMessage,
    // structuredClone with transfer) leaves a zero-length array behind, and nothing may read it.
    // Only such memory (always a host array) can shrink; a backend's own never does.
    if (this._store.shared && b.length !== this.size) throw memoryGone(op, this, b.length);
    return b;
  }

  /** @internal Float buffer for kernels; throws naming op if the dtype is not float32. */
  f32(op: string): F32Buf {
    const b = this.buf(op);
    if (this.dtype !== 'float32')
      throw new TensorboltError(op, `expected a float32 tensor, got ${this.dtype} ${fmtShape(this.shape)} (use .cast('float32'))`);
    return b as F32Buf;
  }

  /** @internal Int buffer for kernels; throws naming op if the dtype is not int32. */
  i32(op: string): I32Buf {
    const b = this.buf(op);
    if (this.dtype !== 'int32')
      throw new TensorboltError(op, `expected an int32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    return b as I32Buf;
  }

  /**
   * @internal The values in place, for host code (data loading, metrics, saving): the CPU tensor's
   * own array, no copy. Throws naming op for a tensor on another device (read it with dataSync()).
   */
  host(op = 'tensor'): HostArray {
    const h = this._be.host(this.buf(op));
    if (h === null)
      throw new TensorboltError(op, `reads values on the host, but tensor #${this.id} ${fmtShape(this.shape)} is on '${this.device}'; ` +
        "move it with .to('cpu') (or read a copy with dataSync())");
    return h;
  }

  /** A copy of the values as a flat typed array (downloaded from a device). */
  dataSync(): Float32Array | Int32Array {
    const b = this.buf('dataSync');
    const h = this._be.host(b);
    if (h) return h.slice();
    const out = this.dtype === 'float32' ? new Float32Array(this.size) : new Int32Array(this.size);
    this._be.download(b, out, 0);
    return out;
  }

  async data(): Promise<Float32Array | Int32Array> {
    return this.dataSync();
  }

  /** The values as nested arrays (a number for a scalar). */
  arraySync(): NestedArray {
    const b = hostValues(this, 'arraySync');
    if (this.rank === 0) return b[0]!;
    const build = (dim: number, offset: number, stride: number): NestedArray[] | number[] => {
      const n = this.shape[dim]!;
      const inner = stride / (n || 1);
      const out: NestedArray[] = new Array(n);
      for (let i = 0; i < n; i++)
        out[i] = dim === this.rank - 1 ? b[offset + i]! : build(dim + 1, offset + i * inner, inner);
      return out as NestedArray[];
    };
    return build(0, 0, this.size);
  }

  async array(): Promise<NestedArray> {
    return this.arraySync();
  }

  /** The single value of a one-element tensor (waits for a device). */
  item(): number {
    const b = this.buf('item');
    if (this.size !== 1)
      throw new TensorboltError('item', `only one-element tensors convert to a number; shape is ${fmtShape(this.shape)}`);
    const h = this._be.host(b);
    if (h) return h[0]!;
    const one = this.dtype === 'float32' ? new Float32Array(1) : new Int32Array(1);
    this._be.download(b, one, 0);
    return one[0]!;
  }

  /** Frees the memory (back to its device's pool or cache when the last view goes). Idempotent. */
  dispose(): void {
    if (this._buf === null) return;
    const st = this._store;
    if (--st.refs === 0 && st.owned) this._be.free(this._buf);
    this._buf = null;
    engine.untrack(this);
    if (this._node) {
      for (const s of this._node.saved) s.dispose();
      this._node = null;
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  [disposeSym](): void {
    this.dispose();
  }

  toString(): string {
    if (this.isDisposed) return `Tensor(#${this.id}, disposed)`;
    if (this._store.shared && this._buf!.length !== this.size) return `Tensor(#${this.id}, memory detached)`;
    const vals = this.size <= 20 ? JSON.stringify(this.arraySync()) : `[${this.size} values]`;
    const dev = this.device === 'cpu' ? '' : `, ${this.device}`;
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${dev}${this.requiresGrad ? ', requiresGrad' : ''}) ${vals}`;
  }
}

export type NestedArray = number | NestedArray[];

/** @internal Shared ownership of one buffer by a tensor and its views. */
export interface Storage {
  refs: number;
  /** Whether the memory came from the backend's alloc (and goes back to it); false for a wrapped host array. */
  owned: boolean;
  /**
   * The memory is also the caller's (a CPU tensor over their typed array, tb.tensor): they can
   * transfer (detach) its ArrayBuffer at any moment, so no work off the main thread may read it.
   * Never true on a device, whose tensors never wrap user memory.
   */
  shared: boolean;
}

function memoryGone(op: string, t: Tensor, len: number): TensorboltError {
  return new TensorboltError(op, `tensor #${t.id} ${fmtShape(t.shape)} lost its memory: the typed array it was made from now has ${len} of its ${t.size} elements (its ArrayBuffer was transferred or detached); keep the array, or pass a copy to tb.tensor`);
}

/** @internal The values on the host: a CPU tensor's own array (no copy), a device tensor's download. */
export function hostValues(t: Tensor, op: string): HostArray {
  return t._be.host(t.buf(op)) ?? t.dataSync();
}

/** @internal A tensor of another shape over the same memory (reshape, flatten, squeeze). */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(t._be, t.buf('view'), shape, t.dtype, false, t._store);
}

/** @internal A tensor over fresh memory of backend be (uninitialized); the caller fills it. */
export function empty(be: OpBackend, shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const size = sizeOf(shape);
  let buf: AnyBuf;
  try {
    buf = be.alloc(size, dtype);
  } catch (e) {
    // A shape past what a typed array can hold (2^32 elements; broadcasting [1e6,1] with [1,1e6]
    // asks for 1e12), memory the process cannot get (V8's RangeError), or a full device.
    throw new TensorboltError('allocate', `cannot allocate a ${dtype} tensor of shape ${fmtShape(shape)} (${size} elements) on '${be.device}': ${(e as Error).message}`);
  }
  return new Tensor(be, buf, shape, dtype, true);
}

/**
 * @internal A CPU tensor over a host array, without copying (not the backend's: never freed to it).
 * shared: the caller keeps the array too (tb.tensor); false only for arrays the library made and
 * never hands out.
 */
export function wrap(buf: HostArray, shape: readonly number[], dtype: DType, shared = true): Tensor {
  return new Tensor(cpu(), buf as unknown as AnyBuf, shape, dtype, false, undefined, shared);
}

/** @internal A CPU tensor over fresh pooled host memory; the caller fills it through host(). */
export function hostEmpty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return empty(cpu(), shape, dtype);
}

/** @internal A copy of t on backend be (same shape and dtype; no graph). */
export function copyTo(t: Tensor, be: OpBackend, op: string): Tensor {
  const out = empty(be, t.shape, t.dtype);
  transfer(t._be, t.buf(op), be, out.buf(op));
  return out;
}

/**
 * @internal Moves t's memory to backend be in place: the same Tensor object (so optimizers and
 * modules holding it keep working) now lives on the other device.
 */
export function relocate(t: Tensor, be: OpBackend, op: string): void {
  if (t._be === be) return;
  const src = t.buf(op);
  let dst: AnyBuf;
  try {
    dst = be.alloc(t.size, t.dtype);
  } catch (e) {
    throw new TensorboltError(op, `cannot allocate ${fmtShape(t.shape)} on '${be.device}': ${(e as Error).message}`);
  }
  transfer(t._be, src, be, dst);
  const st = t._store;
  if (--st.refs === 0 && st.owned) t._be.free(src);
  const from = t.device;
  t._buf = dst;
  t._be = be;
  t._store = { refs: 1, owned: true, shared: false };
  engine.relocated(t, from, t.size * 4);
}

/**
 * @internal dst's values = src's (a tensor on any device, or a host array of dst's length), in
 * place: loading weights, state dicts and optimizer state onto whatever device holds dst.
 */
export function assign(dst: Tensor, src: Tensor | HostArray, op: string): void {
  if (src instanceof Tensor) {
    if (src.size !== dst.size || src.dtype !== dst.dtype)
      throw new TensorboltError(op, `cannot copy ${src.dtype} ${fmtShape(src.shape)} into ${dst.dtype} ${fmtShape(dst.shape)}`);
    transfer(src._be, src.buf(op), dst._be, dst.buf(op));
    return;
  }
  if (src.length !== dst.size)
    throw new TensorboltError(op, `cannot copy ${src.length} values into ${fmtShape(dst.shape)} (${dst.size})`);
  const want = dst.dtype === 'float32' ? Float32Array : Int32Array;
  dst._be.upload(dst.buf(op), src instanceof want ? src : want.from(src), 0);
}
