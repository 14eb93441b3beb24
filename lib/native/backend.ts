// The two backends: every kernel (kernels.ts) plus a handful of allocator primitives, one table per
// device (tinygrad's Allocator, ggml's backend interface). Ops take the backend of their inputs and
// never learn which device it is; they see buffers only as the opaque F32Buf/I32Buf, which they can
// pass to kernels but cannot index. The one way to host values is `host(buf)`, null on a device.
import type { CudaBinding, DeviceBuffer, NativeBinding } from './binding.js';
import { hostPool } from './host_pool.js';
import { KERNEL_NAMES, type Kernels } from './kernels.js';
import { cudaBinding, native } from './load.js';

export type DType = 'float32' | 'int32';
export type DeviceName = 'cpu' | 'cuda';
export type HostArray = Float32Array | Int32Array;

declare const F32Tag: unique symbol;
declare const I32Tag: unique symbol;
/** A float32 buffer of some device, as ops see it: passed to kernels, never read. */
export interface F32Buf {
  readonly [F32Tag]: true;
  readonly length: number;
}
/** An int32 buffer of some device, as ops see it. */
export interface I32Buf {
  readonly [I32Tag]: true;
  readonly length: number;
}
export type AnyBuf = F32Buf | I32Buf;

/** What a device must provide besides its kernels. */
export interface Allocator<F, I> {
  /** Uninitialized memory for `length` elements (the CPU's comes from a pool of freed arrays, CUDA's from its caching allocator). */
  alloc(length: number, dtype: DType): F | I;
  /** Returns memory from alloc() for reuse. */
  free(buf: F | I): void;
  /** dst[dstOffset ..] = src (same dtype). On CUDA, queued: src may be reused at once. */
  upload(dst: F | I, src: HostArray, dstOffset: number): void;
  /** dst = src[srcOffset .. + dst.length). On CUDA, waits for queued work and reports its failures. */
  download(src: F | I, dst: HostArray, srcOffset: number): void;
  /** dst[dstOffset .. + length) = src[srcOffset .. + length), same dtype, on this device. */
  copy(src: F | I, srcOffset: number, dst: F | I, dstOffset: number, length: number): void;
  /** Elements [offset, offset + length) of buf, sharing its memory. */
  view(buf: F | I, offset: number, length: number): F | I;
  /** Waits for every queued kernel and copy (a no-op on the CPU). */
  synchronize(): void;
  /** The host array behind buf on the CPU; null on a device, whose memory the host cannot read. */
  host(buf: F | I): HostArray | null;
}

export type Backend<F, I> = Kernels<F, I> & Allocator<F, I> & { readonly device: DeviceName };
/** A backend as ops use it: opaque buffers, any device. */
export type OpBackend = Backend<F32Buf, I32Buf>;

/** @internal The named functions of a binding, checked to exist: a missing export is an error naming it. */
export function pick<B extends object, K extends keyof B & string>(b: B, names: readonly K[], what: string): Pick<B, K> {
  const missing = names.filter((k) => typeof b[k] !== 'function');
  if (missing.length)
    throw new Error(`tensorbolt: the ${what} lacks the kernel${missing.length > 1 ? 's' : ''} ${missing.map((k) => `'${k}'`).join(', ')} ` +
      '(it was built from older sources). Fix: rebuild it (`npm run build:native`, or `npm run build:cuda` for the CUDA build).');
  const out = {} as Pick<B, K>;
  for (const k of names) out[k] = b[k];
  return out;
}

function makeCpu(b: NativeBinding): Backend<Float32Array, Int32Array> {
  // The kernels are the addon's own functions: a kernel call costs a property load, no wrapper.
  const kernels: Kernels<Float32Array, Int32Array> = pick(b, KERNEL_NAMES, 'CPU addon');
  return {
    ...kernels,
    device: 'cpu',
    alloc: (length, dtype) => hostPool.alloc(dtype, length),
    free: (buf) => hostPool.release(buf),
    upload: (dst, src, dstOffset) => dst.set(src, dstOffset),
    download: (src, dst, srcOffset) => dst.set(src.subarray(srcOffset, srcOffset + dst.length)),
    copy: (src, srcOffset, dst, dstOffset, length) => dst.set(src.subarray(srcOffset, srcOffset + length), dstOffset),
    view: (buf, offset, length) => buf.subarray(offset, offset + length),
    synchronize: () => {},
    host: (buf) => buf,
  };
}

function makeCuda(c: CudaBinding): Backend<DeviceBuffer, DeviceBuffer> {
  // Every kernel is the binding's own function (the same N-API binding as the CPU's, reading device buffers).
  const kernels: Kernels<DeviceBuffer, DeviceBuffer> = pick(c, KERNEL_NAMES, 'CUDA addon');
  return {
    ...kernels,
    device: 'cuda',
    alloc: (length, dtype) => c.alloc(length, dtype),
    free: (buf) => c.free(buf),
    upload: (dst, src, dstOffset) => c.upload(dst, src, dstOffset),
    download: (src, dst, srcOffset) => c.download(src, dst, srcOffset),
    copy: (src, srcOffset, dst, dstOffset, length) => c.copy(src, srcOffset, dst, dstOffset, length),
    view: (buf, offset, length) => c.view(buf, offset, length),
    synchronize: () => c.synchronize(),
    host: () => null,
  };
}

let cpuTable: OpBackend | null = null;
let cudaTable: OpBackend | null | undefined;

/** The CPU backend (loads the addon on first use). */
export function cpu(): OpBackend {
  // The one place host arrays become opaque buffers for ops (and back, through host()).
  return (cpuTable ??= makeCpu(native()) as unknown as OpBackend);
}

/** The CUDA backend, or null when no CUDA build is loaded or no GPU is visible. */
export function cuda(): OpBackend | null {
  if (cudaTable === undefined) {
    const c = cudaBinding();
    cudaTable = c ? (makeCuda(c) as unknown as OpBackend) : null;
  }
  return cudaTable;
}

/** dst (on dstBe) = src (on srcBe): same dtype and length, across devices through the host. */
export function transfer(srcBe: OpBackend, src: AnyBuf, dstBe: OpBackend, dst: AnyBuf): void {
  if (srcBe === dstBe) return srcBe.copy(src, 0, dst, 0, src.length);
  const hs = srcBe.host(src);
  if (hs) return dstBe.upload(dst, hs, 0);
  const hd = dstBe.host(dst);
  if (hd) return srcBe.download(src, hd, 0);
  throw new Error(`tensorbolt: no path from ${srcBe.device} to ${dstBe.device}`);
}

/**
 * Rows `indices` of xa and xb (host arrays) into ya and yb on a worker thread: fit's host-side
 * gather of the next batch while the current one trains (a CPU facility, not a device kernel).
 */
export function hostGatherPairAsync(xa: HostArray, ya: HostArray, innerA: number, xb: HostArray, yb: HostArray,
                                    innerB: number, indices: Int32Array, dim: number): Promise<void> {
  return native().gatherPairAsync(xa, ya, innerA, xb, yb, innerB, indices, dim);
}

/** y (outer, nIdx, inner) = rows `indices` of host array x (outer, dim, inner): the DataLoader's batch gather. */
export function hostGather(x: HostArray, indices: Int32Array, y: HostArray, outer: number, dim: number, inner: number): void {
  native().gather(x, indices, y, outer, dim, inner);
}

/**
 * [workspace, scratch] float counts of one recurrent pass (rnnForward's saved buffer, rnnBackward's
 * scratch) for its dims: computed on the host from the layout the kernels of every device share
 * (native/common/rnn.h), so it is not a kernel of either table.
 */
export function rnnWorkspaceSizes(dims: Int32Array): [number, number] {
  return native().rnnSizes(dims);
}

/** Bytes of host memory waiting in the CPU allocator's pool. */
export function hostPoolBytes(): number {
  return hostPool.bytes;
}
