// The device API (these run everywhere): tb.cuda status; without a usable CUDA device, device
// arguments that name 'cuda' fail with a TensorboltError that says how to get it; 'cpu' is accepted,
// unknown devices are rejected, and the matmul precision is validated and stored.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { expectOpError } from '../helpers/opcheck.js';

const available = tb.cuda.isAvailable();
// What the message must say: how to build when there is no build, the reason when there is one.
const why = (): RegExp => (tb.cuda.info().built ? /cannot be used/ : /npm run build:cuda/);

describe('tb.cuda', () => {
  it('reports its state consistently', () => {
    const info = tb.cuda.info();
    expect(typeof info.built).toBe('boolean');
    expect(info.available).toBe(available);
    if (!available) {
      expect(info.device).toBeNull();
      expect(info.reason.length).toBeGreaterThan(0);
      expect(tb.cuda.memory()).toBeNull();
    } else {
      expect(info.device!.computeCapability).toMatch(/^\d+\.\d+$/);
    }
    expect(tb.backendInfo().cuda.available).toBe(available);
  });
});

describe("device 'cuda' on a tensor, a module and creation", () => {
  it("Tensor.to('cpu') returns the tensor itself", () => {
    const t = tb.tensor([1, 2, 3]);
    expect(t.to('cpu')).toBe(t);
    t.dispose();
  });
  it.skipIf(available)("Tensor.to('cuda') throws a TensorboltError saying why", () => {
    const t = tb.tensor([1, 2, 3]);
    expectOpError(() => t.to('cuda'), 'Tensor.to', why());
    expect(t.isDisposed).toBe(false);
    t.dispose();
  });
  it('unknown devices are rejected by name', () => {
    const t = tb.tensor([1]);
    expectOpError(() => t.to('tpu' as tb.DeviceName), 'Tensor.to', /unknown device "tpu"/);
    expectOpError(() => t.to('cuda:1' as tb.DeviceName), 'Tensor.to', /only one GPU/);
    expectOpError(() => tb.setDefaultDevice('tpu' as tb.DeviceName), 'setDefaultDevice', /unknown device/);
    t.dispose();
  });
  it.skipIf(available)("{ device: 'cuda' } on creation throws naming the creating function", () => {
    expectOpError(() => tb.zeros([2, 3], { device: 'cuda' }), 'full', why());
    expectOpError(() => tb.ones([2], { device: 'cuda' }), 'full', why());
    expectOpError(() => tb.tensor([1, 2], [2], { device: 'cuda' }), 'tensor', why());
    expectOpError(() => tb.randn([2], 0, 1, { device: 'cuda' }), 'randn', why());
    expectOpError(() => tb.rand([2], 0, 1, { device: 'cuda' }), 'rand', why());
    expectOpError(() => tb.randint(0, 5, [2], { device: 'cuda' }), 'randint', why());
    expectOpError(() => tb.setDefaultDevice('cuda'), 'setDefaultDevice', why());
    expect(tb.getDefaultDevice()).toBe('cpu');
  });
  it("{ device: 'cpu' } and a dtype in the options work", () => {
    const z = tb.zeros([2], { device: 'cpu', dtype: 'int32' });
    expect(z.dtype).toBe('int32');
    const t = tb.tensor([1, 2], [2], { dtype: 'float32', device: 'cpu' });
    expect(Array.from(t.dataSync())).toEqual([1, 2]);
    z.dispose();
    t.dispose();
  });
  it("Module.to('cpu') returns the module itself", () => {
    const lin = new tb.nn.Linear(3, 2);
    expect(lin.to('cpu')).toBe(lin);
    expect(lin.device).toBe('cpu');
    lin.dispose();
  });
  it.skipIf(available)("Module.to('cuda') throws naming the module and leaves it on the CPU", () => {
    const lin = new tb.nn.Linear(3, 2);
    expectOpError(() => lin.to('cuda'), 'Linear.to', why());
    expect(lin.weight.device).toBe('cpu');
    lin.dispose();
  });
});

describe('setMatmulPrecision', () => {
  it("stores 'tf32' and 'highest'", () => {
    expect(tb.getMatmulPrecision()).toBe('highest');
    tb.setMatmulPrecision('tf32');
    expect(tb.getMatmulPrecision()).toBe('tf32');
    if (available) expect(tb.cuda.info().device!.tf32).toBe(true);
    tb.setMatmulPrecision('highest');
    expect(tb.getMatmulPrecision()).toBe('highest');
    if (available) expect(tb.cuda.info().device!.tf32).toBe(false);
  });
  it('rejects anything else', () => {
    expectOpError(() => tb.setMatmulPrecision('medium' as tb.MatmulPrecision), 'setMatmulPrecision', /'highest', 'tf32' or 'bf16'/);
    expect(tb.getMatmulPrecision()).toBe('highest');
  });
  // 'bf16' is the CPU's (AVX512_BF16 products): on 'cuda' tensors it changes nothing, the GPU's
  // products stay full FP32 (no TF32), as the setting's documentation says.
  it.skipIf(!available || !tb.backendInfo().bf16)("'bf16' rounds the CPU's products only: the GPU's stay FP32", () => {
    const [m, k, n] = [64, 300, 64];
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11));
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) want[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
    const maxErr = (device: 'cpu' | 'cuda'): number => tb.tidy(() => {
      const c = tb.matmul(tb.tensor(a, [m, k], { device }), tb.tensor(b, [k, n], { device })).dataSync();
      return c.reduce((e, v, i) => Math.max(e, Math.abs(v - want[i]!)), 0);
    });
    tb.setMatmulPrecision('bf16');
    try {
      expect(tb.cuda.info().device!.tf32).toBe(false);
      expect(maxErr('cuda')).toBeLessThan(1e-3);
      expect(maxErr('cpu')).toBeGreaterThan(1e-3); // the CPU's did round (bf16 keeps 8 mantissa bits)
    } finally {
      tb.setMatmulPrecision('highest');
    }
  });
});
