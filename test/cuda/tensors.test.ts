// Device tensors through the library (run where a CUDA device is usable: a GPU, or the host
// emulator of npm run test:cuda-emu; skipped elsewhere): creation on 'cuda', reads back, .to()
// round trips with gradients, per-device memory counts, mixing devices, autograd accumulation,
// dropout masks, optimizers and clipping on device against the same run on the CPU.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { expectOpError } from '../helpers/opcheck.js';

const available = tb.cuda.isAvailable();

/** |a - b| <= atol + rtol * |b| everywhere. */
function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, atol = 1e-5, rtol = 1e-5): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < b.length; i++)
    if (!(Math.abs(a[i]! - b[i]!) <= atol + rtol * Math.abs(b[i]!))) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe.skipIf(!available)("tensors on 'cuda'", () => {
  it('every creation function puts its tensor on the device asked for, with the same values as on the CPU', () => {
    const make: [string, (device: tb.DeviceName) => tb.Tensor][] = [
      ['tensor (nested)', (device) => tb.tensor([[1, 2], [3, 4]], undefined, { device })],
      ['tensor (typed, cast)', (device) => tb.tensor(Int32Array.of(1, -2, 3), [3], { device, dtype: 'float32' })],
      ['scalar', (device) => tb.scalar(2.5, { device })],
      ['zeros int32', (device) => tb.zeros([2, 3], { device, dtype: 'int32' })],
      ['ones', (device) => tb.ones([4], { device })],
      ['full', (device) => tb.full([3], 7, { device })],
      ['randn', (device) => tb.randn([5], 0, 1, { seed: 3, device })],
      ['rand', (device) => tb.rand([5], -1, 1, { seed: 4, device })],
      ['randint', (device) => tb.randint(0, 9, [6], { seed: 5, device })],
      ['arange', (device) => tb.arange(0, 5, 1, { device })],
      ['eye', (device) => tb.eye(3, 2, { device })],
    ];
    for (const [name, f] of make) {
      const c = f('cpu');
      const g = f('cuda');
      expect(g.device, name).toBe('cuda');
      expect(g.dtype, name).toBe(c.dtype);
      expect(g.shape, name).toEqual(c.shape);
      expect(Array.from(g.dataSync()), name).toEqual(Array.from(c.dataSync()));
      tb.dispose([c, g]);
    }
    const z = tb.zeros([2], { device: 'cuda' });
    const like = [tb.zerosLike(z), tb.onesLike(z)];
    expect(like.map((t) => t.device)).toEqual(['cuda', 'cuda']);
    tb.dispose([z, like]);
  });

  it('reads download (dataSync, data, arraySync, item, toString); host() refuses, naming the fix', async () => {
    const t = tb.tensor([[1, 2, 3], [4, 5, 6]], undefined, { device: 'cuda' });
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await t.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.arraySync()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(t.sum().item()).toBe(21);
    expect(t.toString()).toMatch(/cuda/);
    expectOpError(() => t.host('metric'), 'metric', /on 'cuda'.*\.to\('cpu'\)/);
    t.dispose();
  });

  it('setDefaultDevice makes creation functions (and parameters) land on the GPU', () => {
    tb.setDefaultDevice('cuda');
    try {
      const t = tb.randn([3]);
      const lin = new tb.nn.Linear(3, 2);
      expect([t.device, lin.weight.device, lin.device, tb.backendInfo().backend]).toEqual(['cuda', 'cuda', 'cuda', 'cuda']);
      tb.dispose(t);
      lin.dispose();
    } finally {
      tb.setDefaultDevice('cpu');
    }
    expect(tb.getDefaultDevice()).toBe('cpu');
  });

  it('.to() round trips: values, and gradients flowing back to the CPU leaf through the GPU ops', () => {
    const x = tb.tensor([[0.5, -1, 2], [3, -0.25, 1]]).requiresGrad_();
    const w = tb.tensor([[1, 2], [0.5, -1], [2, 0.25]]).requiresGrad_();
    const xg = x.to('cuda');
    expect(xg.device).toBe('cuda');
    expect(xg.to('cuda')).toBe(xg);
    const y = tb.relu(xg.matmul(w.to('cuda'))).to('cpu').sum();
    y.backward();
    // the same on the CPU alone
    const x2 = tb.tensor([[0.5, -1, 2], [3, -0.25, 1]]).requiresGrad_();
    const w2 = tb.tensor([[1, 2], [0.5, -1], [2, 0.25]]).requiresGrad_();
    const y2 = tb.relu(x2.matmul(w2)).sum();
    y2.backward();
    expect(y.device).toBe('cpu');
    expect(y.item()).toBeCloseTo(y2.item(), 5);
    expect(x.grad!.device).toBe('cpu');
    close(x.grad!.dataSync(), x2.grad!.dataSync(), 'dx');
    close(w.grad!.dataSync(), w2.grad!.dataSync(), 'dw');
    tb.dispose([x, w, xg, y, x2, w2, y2]);
  });

  it('a GPU leaf used twice accumulates its gradient on the GPU; backward onto an existing grad adds', () => {
    const a = tb.tensor([1, 2, 3], undefined, { device: 'cuda' }).requiresGrad_();
    const l = a.mul(a).add(a.mul(3)).sum(); // d/da = 2a + 3
    l.backward();
    expect(a.grad!.device).toBe('cuda');
    expect(Array.from(a.grad!.dataSync())).toEqual([5, 7, 9]);
    const l2 = a.sum();
    l2.backward();
    expect(Array.from(a.grad!.dataSync())).toEqual([6, 8, 10]);
    tb.dispose([a, l, l2]);
  });

  it('tb.memory() counts per device; dispose gives the memory back to the caching allocator', () => {
    const before = tb.memory();
    const inUse = tb.cuda.memory()!.inUse;
    const t = tb.zeros([1000], { device: 'cuda' });
    const c = tb.zeros([10]);
    const m = tb.memory();
    expect(m.devices.cuda.numTensors - before.devices.cuda.numTensors).toBe(1);
    expect(m.devices.cuda.numBytes - before.devices.cuda.numBytes).toBe(4000);
    expect(m.devices.cpu.numBytes - before.devices.cpu.numBytes).toBe(40);
    expect(m.numBytes - before.numBytes).toBe(4040);
    expect(tb.cuda.memory()!.inUse).toBeGreaterThan(inUse);
    const v = t.reshape([10, 100]); // a view: no new memory
    expect(tb.memory().devices.cuda.numBytes).toBe(m.devices.cuda.numBytes);
    t.dispose();
    expect(tb.cuda.memory()!.inUse).toBeGreaterThan(inUse); // the view still holds it
    v.dispose();
    c.dispose();
    expect(tb.cuda.memory()!.inUse).toBe(inUse);
    expect(tb.memory().devices).toEqual(before.devices);
  });

  it('ops refuse inputs on two devices, naming the op, both devices and the fix', () => {
    const g = tb.ones([2, 2], { device: 'cuda' });
    const c = tb.ones([2, 2]);
    const fix = /on 'cuda'.*on 'cpu'|on 'cpu'.*on 'cuda'/;
    expectOpError(() => tb.add(g, c), 'add', fix);
    expectOpError(() => tb.add(g, c), 'add', /move one with \.to\('cuda'\)/);
    expectOpError(() => tb.matmul(c, g), 'matmul', fix);
    expectOpError(() => tb.linear(g, c), 'linear', fix);
    expectOpError(() => tb.where(c, g, g), 'where', fix);
    expectOpError(() => tb.concat([g, c]), 'concat', fix);
    expectOpError(() => tb.gather(g, tb.tensor([0], undefined, 'int32')), 'gather', fix);
    expectOpError(() => tb.conv2d(tb.ones([1, 3, 3, 1], { device: 'cuda' }), tb.ones([2, 2, 1, 1])), 'conv2d', fix);
    expectOpError(() => tb.softmaxCrossEntropy(g, tb.tensor([0, 1], undefined, 'int32')), 'softmaxCrossEntropy', fix);
    const lin = new tb.nn.Linear(2, 2);
    expectOpError(() => lin.forward(g), 'linear', fix);
    // constants follow the tensor operand's device
    const s = tb.add(g, 1);
    expect(s.device).toBe('cuda');
    expect(Array.from(s.dataSync())).toEqual([2, 2, 2, 2]);
    tb.dispose([g, c, s]);
    lin.dispose();
  });

  it('an index out of range is reported with the op when the result is read', () => {
    const x = tb.ones([3, 2], { device: 'cuda' });
    const i = tb.tensor([0, 5], undefined, { dtype: 'int32', device: 'cuda' });
    let err: unknown;
    try {
      const y = tb.gather(x, i);
      y.dataSync();
      y.dispose();
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/gather.*5/);
    tb.dispose([x, i]);
  });

  it('dropout draws the same mask on both devices for one seed', () => {
    const x = tb.randn([257], 0, 1, { seed: 9 });
    const xc = x.to('cuda');
    const a = tb.dropout(x, 0.4, { seed: 1234 });
    const b = tb.dropout(xc, 0.4, { seed: 1234 });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tb.dispose([x, xc, a, b]);
  });

  it('every optimizer steps on the GPU as on the CPU, its state on the GPU', () => {
    const make: [string, (ps: tb.Tensor[]) => tb.optim.Optimizer][] = [
      ['SGD nesterov', (ps) => new tb.optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
      ['Adam amsgrad', (ps) => new tb.optim.Adam(ps, { lr: 0.01, amsgrad: true })],
      ['AdamW', (ps) => new tb.optim.AdamW(ps, { lr: 0.01 })],
      ['RMSprop centered', (ps) => new tb.optim.RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true })],
      ['Adagrad', (ps) => new tb.optim.Adagrad(ps, { lr: 0.1 })],
      ['Adadelta', (ps) => new tb.optim.Adadelta(ps, { lr: 1 })],
    ];
    for (const [name, opt] of make) {
      const run = (device: tb.DeviceName): Float32Array => {
        const p = tb.randn([7], 0, 1, { seed: 1, device }).requiresGrad_();
        const o = opt([p]);
        for (let s = 0; s < 3; s++) {
          o.zeroGrad();
          const l = p.mul(p).mul(tb.arange(0, 7, 1, { device })).sum();
          l.backward();
          o.step();
          l.dispose();
        }
        const st = o.getState(p)!;
        for (const b of Object.values(st.buffers)) expect(b.device, name).toBe(device);
        const out = p.dataSync() as Float32Array;
        o.dispose();
        p.dispose();
        return out;
      };
      close(run('cuda'), run('cpu'), name);
    }
  });

  it('clipGradNorm (2, 3, inf) and clipGradValue on the GPU equal the CPU', () => {
    for (const norm of [2, 3, Infinity]) {
      const run = (device: tb.DeviceName): [number, Float32Array] => {
        const p = tb.randn([50], 0, 2, { seed: 2, device }).requiresGrad_();
        p.mul(p).sum().backward();
        const total = tb.optim.clipGradNorm([p], 1, norm);
        const g = p.grad!.dataSync() as Float32Array;
        p.dispose();
        return [total, g];
      };
      const [tg, gg] = run('cuda');
      const [tc, gc] = run('cpu');
      expect(tg).toBeCloseTo(tc, 3);
      close(gg, gc, `clipGradNorm ${norm}`);
    }
    const p = tb.tensor([-3, 0.5, 2, NaN], undefined, { device: 'cuda' }).requiresGrad_();
    p.sum().backward();
    p.grad = tb.tensor([-3, 0.5, 2, NaN], undefined, { device: 'cuda' });
    tb.optim.clipGradValue([p], 1);
    const v = Array.from(p.grad.dataSync());
    expect(v.slice(0, 3)).toEqual([-1, 0.5, 1]);
    expect(Number.isNaN(v[3])).toBe(true);
    p.dispose();
  });
});
