// The CUDA binding's surface and its runtime: the `cuda` object exports a twin of every CPU kernel
// with the same signature (these tests need only a CUDA build, no GPU: they never reach the device),
// and on a device the allocator (reuse, out of memory, views), device-to-device copies and the
// argument checks on device buffers.
import { describe, expect, it } from 'vitest';
import type { CudaBinding, DeviceBuffer } from '../../lib/native/binding.js';
import { cudaBinding, native } from '../../lib/native/load.js';
import { download, rand, upload } from './helpers.js';

type Fns = Record<string, unknown>;
const cpu = native() as unknown as Fns;
const built = native().cuda as unknown as Fns | undefined;
const cuda = cudaBinding();

// The host's own tools, with no device twin: GEMM library and thread knobs, fit's batch gather
// from host memory on a worker thread (the device has gather), the recurrent kernels' buffer sizes
// (host arithmetic), and the CPU kernels' instruction set and bf16 products (the GPU's kernels have
// no sets to pick).
const HOST_ONLY = new Set(['setGemmBackend', 'setNumThreads', 'gatherPairAsync', 'rnnSizes', 'isaInfo', 'setIsa', 'setCpuBf16']);
// The device's runtime and allocator, with no CPU counterpart (the CPU's memory is typed arrays).
const DEVICE_ONLY = new Set(['deviceCount', 'alloc', 'free', 'view', 'upload', 'download', 'copy', 'synchronize',
  'memory', 'emptyCache', 'setTf32']);
// On both, meaning different things (build facts / the device's).
const DIFFERENT = new Set(['info']);

const functions = (o: Fns) => Object.keys(o).filter((k) => typeof o[k] === 'function').sort();
const kernels = () => functions(cpu).filter((k) => !HOST_ONLY.has(k) && !DIFFERENT.has(k));

// What a binding says when called with every argument undefined: its name, how many arguments it
// expects, and the first argument its checks reject. Nothing reaches a kernel or the device.
function complaints(fn: unknown, args: number): string {
  try {
    (fn as (...a: unknown[]) => unknown)(...new Array(args).fill(undefined));
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
}

describe.skipIf(!built)('one binding for both devices', () => {
  const g = built as Fns;

  it('the cuda object exports every CPU kernel, and besides them only its runtime', () => {
    expect(kernels().length).toBeGreaterThan(40);
    expect(kernels().filter((k) => typeof g[k] !== 'function')).toEqual([]);
    expect(functions(g).filter((k) => !(k in cpu) && !DEVICE_ONLY.has(k))).toEqual([]);
    // The lists above name only functions that exist, so a renamed one cannot hide behind them.
    for (const k of [...HOST_ONLY, ...DIFFERENT]) expect(typeof cpu[k], k).toBe('function');
    for (const k of [...DEVICE_ONLY, ...DIFFERENT]) expect(typeof g[k], k).toBe('function');
  });

  it('each twin takes the same number of arguments and checks them in the same order', () => {
    for (const k of kernels()) {
      const none = [complaints(cpu[k], 0), complaints(g[k], 0)];
      expect(none[0], k).toMatch(new RegExp(`^tensorbolt\\.${k}: expected \\d+ arguments, got 0$`));
      expect(none[1], k).toMatch(new RegExp(`^tensorbolt\\.cuda\\.${k}: expected \\d+ arguments, got 0$`));
      const count = Number(/expected (\d+)/.exec(none[0]!)![1]);
      expect(Number(/expected (\d+)/.exec(none[1]!)![1]), `${k}: argument count`).toBe(count);
      // With all of them undefined, the first complaint names the same argument on both devices.
      const first = [complaints(cpu[k], count), complaints(g[k], count)].map((m) => /argument \d+ \(\w+\)/.exec(m)?.[0]);
      expect(first[0], `${k}: ${complaints(cpu[k], count)}`).toBeDefined();
      expect(first[1], `${k} on the device`).toBe(first[0]);
    }
  });
});

describe.skipIf(!cuda)('CUDA runtime', () => {
  const g = cuda as CudaBinding;
  const f32 = (h: Float32Array) => upload(g, h);

  it('reuses freed blocks instead of calling cudaMalloc again', () => {
    const before = g.memory().deviceMallocs;
    for (let i = 0; i < 50; i++) g.free(g.alloc(123457, 'float32'));
    expect(g.memory().deviceMallocs - before).toBeLessThanOrEqual(1);
    expect(g.memory().cacheHits).toBeGreaterThan(0);
  });
  it('out-of-memory is a JS error with a code, naming the call', () => {
    let err: (Error & { code?: string }) | undefined;
    try {
      g.alloc(2 ** 40, 'float32');  // 4 TiB
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.message).toMatch(/tensorbolt\.cuda\.alloc: out of GPU memory/);
    expect(err?.code).toBe('ERR_TENSORBOLT_CUDA_OOM');
    g.synchronize();  // the failure left nothing behind
  });
  it('rejects freed buffers, host arrays and wrong dtypes by argument', () => {
    const a = g.alloc(4, 'float32'), i = g.alloc(4, 'int32');
    g.free(a);
    expect(() => g.fill(a, 1)).toThrow(/cuda\.fill: argument 0 \(out\) was freed/);
    expect(() => (g.fill as (...x: unknown[]) => void)(new Float32Array(4), 1)).toThrow(/must be a CUDA device buffer/);
    expect(() => g.axpy(1, i, i)).toThrow(/must be a float32 device buffer, got int32/);
    expect(() => g.upload(i, new Float32Array(4), 0)).toThrow(/Int32Array/);
    expect(() => g.upload(i, new Int32Array(5), 0)).toThrow(/exceed/);
    g.free(i);
  });
  it('info describes the device', () => {
    const info = g.info();
    expect(info.name.length).toBeGreaterThan(0);
    expect(Number(info.computeCapability)).toBeGreaterThanOrEqual(8);
    expect(info.cublasVersion).toBeGreaterThan(0);
  });

  describe('views', () => {
    it('a view reads and writes its part of the parent, in place', () => {
      const p = f32(Float32Array.from({ length: 10 }, (_, i) => i));
      const v = g.view(p, 3, 4);
      expect([v.length, v.dtype]).toEqual([4, 'float32']);
      expect(Array.from(download(g, v))).toEqual([3, 4, 5, 6]);
      g.scale(v, 10);  // a kernel writing through the view
      expect(Array.from(download(g, p))).toEqual([0, 1, 2, 30, 40, 50, 60, 7, 8, 9]);
      const vv = g.view(v, 1, 2);  // a view of a view
      g.fill(vv, -1);
      expect(Array.from(download(g, p))).toEqual([0, 1, 2, 30, -1, -1, 60, 7, 8, 9]);
      for (const b of [vv, v, p]) g.free(b);
    });
    it('keeps the memory alive after the parent is freed; freeing a view does not free the parent', () => {
      const inUse0 = g.memory().inUse;
      const p = f32(Float32Array.from([1, 2, 3, 4, 5, 6]));
      const v = g.view(p, 2, 3);
      g.free(v);
      expect(Array.from(download(g, p))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(() => g.fill(v, 0)).toThrow(/cuda\.fill: argument 0 \(out\) was freed/);
      const w = g.view(p, 4, 2);
      const held = g.memory().inUse;
      g.free(p);
      expect(g.memory().inUse).toBe(held);  // w holds the block
      // Another allocation must not take the block while the view lives.
      const other = f32(new Float32Array(6).fill(9));
      expect(Array.from(download(g, w))).toEqual([5, 6]);
      const withOther = g.memory().inUse;
      g.free(w);  // the last share of the block
      expect(g.memory().inUse).toBeLessThan(withOther);
      g.free(other);
      expect(g.memory().inUse).toBe(inUse0);
    });
    it('int32 views, empty views, and ranges outside the buffer', () => {
      const p = upload(g, Int32Array.from([7, 8, 9]));
      expect(Array.from(download(g, g.view(p, 1, 2)))).toEqual([8, 9]);
      expect(g.view(p, 3, 0).length).toBe(0);
      expect(() => g.view(p, 2, 2)).toThrow(/tensorbolt\.cuda\.view: buffer: offset 2 \+ length 2 exceeds its 3 elements/);
      expect(() => g.view(p, -1, 1)).toThrow(RangeError);
      expect(() => g.view(p, 0.5, 1)).toThrow(/must be an integer/);
      g.free(p);
      expect(() => g.view(p, 0, 1)).toThrow(/was freed/);
    });
    it('kernels see through views: a partial overlap of an output with an input is refused, an exact alias is in place', () => {
      const p = f32(rand(8, 150, 1, 2));
      const a = g.view(p, 0, 6), b = g.view(p, 2, 6), same = g.view(p, 0, 6);
      expect(() => g.unary(0, a, b, 0, 0)).toThrow(/cuda\.unary: argument 2 \(out\) and argument 1 \(x\) share memory/);
      expect(() => g.softmax(a, same, 2, 3, 1, false)).toThrow(/x and y must not share memory/);
      expect(() => g.linear(a, g.view(p, 0, 2), null, g.view(p, 5, 3), 3, 1, 2, false, 0)).toThrow(/y must not share memory with x/);
      const before = download(g, p) as Float32Array;
      g.activation(0, a, same, 0);  // relu in place over [0, 6)
      expect(Array.from(download(g, p))).toEqual(Array.from(before));  // all positive: unchanged
      for (const x of [a, b, same, p]) g.free(x);
    });
  });

  describe('copy', () => {
    it('copies a range between buffers and inside one buffer', () => {
      const src = rand(10, 151), dst = rand(8, 152);
      const s = f32(src), d = f32(dst);
      g.copy(s, 2, d, 5, 3);
      dst.set(src.subarray(2, 5), 5);
      expect(Array.from(download(g, d))).toEqual(Array.from(dst));
      g.copy(s, 0, s, 6, 4);  // disjoint ranges of one buffer
      src.copyWithin(6, 0, 4);
      expect(Array.from(download(g, s))).toEqual(Array.from(src));
      g.copy(s, 1, s, 1, 5);  // the same range: nothing to do
      g.copy(s, 0, d, 0, 0);
      expect(Array.from(download(g, s))).toEqual(Array.from(src));
      const v = g.view(s, 4, 6);  // through a view
      g.copy(v, 0, d, 0, 2);
      dst.set(src.subarray(4, 6), 0);
      expect(Array.from(download(g, d))).toEqual(Array.from(dst));
      for (const b of [v, s, d]) g.free(b);
    });
    it('int32, and the refusals: dtype, range, overlap', () => {
      const i = upload(g, Int32Array.from([1, 2, 3, 4])), j = g.alloc(4, 'int32'), f = g.alloc(4, 'float32');
      g.copy(i, 0, j, 0, 4);
      expect(Array.from(download(g, j))).toEqual([1, 2, 3, 4]);
      expect(() => g.copy(i, 0, f, 0, 1)).toThrow(/src is an int32 device buffer but dst is a float32 device buffer/);
      expect(() => g.copy(i, 2, j, 0, 3)).toThrow(/tensorbolt\.cuda\.copy: src: offset 2 \+ length 3 exceeds its 4 elements/);
      expect(() => g.copy(i, 0, j, 3, 2)).toThrow(/dst: offset 3 \+ length 2 exceeds/);
      expect(() => g.copy(i, 0, i, 1, 2)).toThrow(/the src and dst ranges overlap/);
      expect(() => g.copy(g.view(i, 1, 3), 0, i, 0, 2)).toThrow(/overlap/);
      for (const b of [i, j, f] as DeviceBuffer[]) g.free(b);
    });
  });
});
