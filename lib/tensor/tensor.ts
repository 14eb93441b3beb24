// The Tensor: a shape, a dtype and a contiguous buffer, plus the autograd fields. Operations are
// attached as methods by lib/ops (which depends on this file, never the reverse).
import { engine, type Buf, type DType } from './engine.js';
import { TensorboltError, fmtShape } from './errors.js';
import { sizeOf } from './shape.js';

export type { DType } from './engine.js';
export type Device = 'cpu';

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
  readonly device: Device = 'cpu';
  /** Whether gradients flow into this tensor (set on parameters; propagated through ops). */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after backward(). */
  grad: Tensor | null = null;
  /** Optional label shown in errors and summaries. */
  name: string | undefined;
  /** @internal */ _buf: Buf | null;
  /** @internal */ _node: GradNode | null = null;
  /** @internal set once backward has freed this tensor's graph node */ _released = false;
  /** @internal the memory, shared by views (reshape); returned to the pool when the last user goes */
  _store: Storage;
  /** @internal bytes counted for this tensor in the engine's live total */ _bytes = 0;
  /** @internal whether the engine's finalization registry watches this tensor */ _registered = false;

  /** @internal Use tb.tensor(), tb.zeros() etc. */
  constructor(buf: Buf, shape: readonly number[], dtype: DType, pooled: boolean, store?: Storage, shared = false) {
    this.id = engine.nextId++;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = sizeOf(shape);
    if (buf.length !== this.size)
      throw new TensorboltError('tensor', `buffer of ${buf.length} elements does not fit shape ${fmtShape(shape)}`);
    this._buf = buf;
    if (store) {
      store.refs++;
      this._store = store;
    } else {
      this._store = { refs: 1, pooled, shared };
    }
    engine.track(this, store ? 0 : this.size * 4);
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

  /** @internal The backing buffer; throws on a disposed tensor, or one whose memory was taken away. */
  buf(op = 'tensor'): Buf {
    const b = this._buf;
    if (b === null)
      throw new TensorboltError(op, `tensor #${this.id} ${fmtShape(this.shape)} was used after dispose()`);
    // Memory the caller handed to tb.tensor stays theirs: transferring its ArrayBuffer (postMessage,
    // structuredClone with transfer) leaves a zero-length array behind, and nothing may read it.
    if (b.length !== this.size) throw memoryGone(op, this, b.length);
    return b;
  }

  /** @internal Float buffer; throws naming op if the dtype is not float32. */
  f32(op: string): Float32Array {
    const b = this.buf(op);
    if (!(b instanceof Float32Array))
      throw new TensorboltError(op, `expected a float32 tensor, got ${this.dtype} ${fmtShape(this.shape)} (use .cast('float32'))`);
    return b;
  }

  /** @internal Int buffer; throws naming op if the dtype is not int32. */
  i32(op: string): Int32Array {
    const b = this.buf(op);
    if (!(b instanceof Int32Array))
      throw new TensorboltError(op, `expected an int32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    return b;
  }

  /** A copy of the values as a flat typed array. */
  dataSync(): Float32Array | Int32Array {
    return this.buf('dataSync').slice();
  }

  async data(): Promise<Float32Array | Int32Array> {
    return this.dataSync();
  }

  /** The values as nested arrays (a number for a scalar). */
  arraySync(): NestedArray {
    const b = this.buf('arraySync');
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

  /** The single value of a one-element tensor. */
  item(): number {
    const b = this.buf('item');
    if (this.size !== 1)
      throw new TensorboltError('item', `only one-element tensors convert to a number; shape is ${fmtShape(this.shape)}`);
    return b[0]!;
  }

  /** Frees the buffer (back to the pool when it came from there). Idempotent. */
  dispose(): void {
    if (this._buf === null) return;
    const st = this._store;
    if (--st.refs === 0 && st.pooled) engine.release(this._buf);
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
    if (this._buf!.length !== this.size) return `Tensor(#${this.id}, memory detached)`;
    const vals = this.size <= 20 ? JSON.stringify(this.arraySync()) : `[${this.size} values]`;
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}) ${vals}`;
  }
}

export type NestedArray = number | NestedArray[];

/** @internal Shared ownership of one buffer by a tensor and its views. */
export interface Storage {
  refs: number;
  pooled: boolean;
  /**
   * The memory is also the caller's (tb.tensor over their typed array): they can transfer
   * (detach) its ArrayBuffer at any moment, so no work off the main thread may read it.
   */
  shared: boolean;
}

function memoryGone(op: string, t: Tensor, len: number): TensorboltError {
  return new TensorboltError(op, `tensor #${t.id} ${fmtShape(t.shape)} lost its memory: the typed array it was made from now has ${len} of its ${t.size} elements (its ArrayBuffer was transferred or detached); keep the array, or pass a copy to tb.tensor`);
}

/** @internal A tensor of another shape over the same memory (reshape, flatten, squeeze). */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(t.buf('view'), shape, t.dtype, false, t._store);
}

/** @internal Makes a tensor over a fresh (pooled) buffer; the caller fills it. */
export function empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const size = sizeOf(shape);
  let buf: Buf;
  try {
    buf = engine.alloc(dtype, size);
  } catch (e) {
    // A shape past what a typed array can hold (2^32 elements; broadcasting [1e6,1] with [1,1e6]
    // asks for 1e12) or memory the process cannot get: V8 throws a RangeError.
    throw new TensorboltError('allocate', `cannot allocate a ${dtype} tensor of shape ${fmtShape(shape)} (${size} elements): ${(e as Error).message}`);
  }
  return new Tensor(buf, shape, dtype, true);
}

/**
 * @internal Wraps an existing buffer without copying (not pooled). shared: the caller keeps the
 * array too (tb.tensor); false only for arrays the library made and never hands out.
 */
export function wrap(buf: Buf, shape: readonly number[], dtype: DType, shared = true): Tensor {
  return new Tensor(buf, shape, dtype, false, undefined, shared);
}
