// Hostile inputs with tensors on the GPU (run where a CUDA device is usable: a GPU, or the host
// emulator; skipped elsewhere). A device tensor never wraps the caller's memory, so detaching or
// resizing their array after tb.tensor cannot touch it; the caller's host memory that fit reads for
// a model on the GPU is still gathered on the main thread and checked at each batch; optimizer state
// on the device is validated (present, finite, second moments >= 0) before anything changes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as tb from '../../lib/index.js';
import { native } from '../../lib/native/load.js';

const available = tb.cuda.isAvailable();
afterEach(() => vi.restoreAllMocks());

type ResizableCtor = new (n: number, o: { maxByteLength: number }) => ArrayBuffer;

describe.skipIf(!available)("the caller's memory and tensors on 'cuda'", () => {
  it('tb.tensor onto the device copies: a transfer or a shrink of the array afterwards changes nothing', () => {
    const mem = Float32Array.of(1, 2, 3, 4);
    const t = tb.tensor(mem, [2, 2], { device: 'cuda' });
    structuredClone(mem.buffer, { transfer: [mem.buffer] });
    expect(mem.length).toBe(0);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4]);
    expect(tb.sum(t).item()).toBe(10);

    // a resizable buffer is refused where the tensor would share it, taken where it is copied
    const ab = new (ArrayBuffer as unknown as ResizableCtor)(16, { maxByteLength: 32 });
    const r = new Float32Array(ab).fill(2);
    expect(() => tb.tensor(r)).toThrow(/resizable ArrayBuffer/);
    const g = tb.tensor(r, [4], { device: 'cuda' });
    (ab as unknown as { resize(n: number): void }).resize(0);
    expect(Array.from(g.dataSync())).toEqual([2, 2, 2, 2]);
    tb.dispose([t, g]);
  });

  it('.to(cuda) of a tensor whose memory was transferred is a TensorboltError naming the tensor', () => {
    const mem = new Float32Array(8).fill(1);
    const t = tb.tensor(mem);
    structuredClone(mem.buffer, { transfer: [mem.buffer] });
    expect(() => t.to('cuda')).toThrow(/tensor #\d+ \[8\] lost its memory: the typed array it was made from now has 0 of its 8 elements/);
    t.dispose();
  });

  it('fit of a model on the GPU over the caller\'s array: gathered in line; a transfer in a callback stops fit with a TensorboltError', async () => {
    const features = 1024; // 16-row batches of 64 KB: large enough to be gathered ahead when allowed
    const spy = vi.spyOn(native(), 'gatherPairAsync');
    const model = (): tb.Sequential => {
      const m = tb.sequential([tb.layers.dense({ units: 2, activation: 'softmax', inputShape: [features] })]);
      m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', device: 'cuda' });
      return m;
    };
    const mem = new Float32Array(64 * features).fill(0.25);
    const x = tb.tensor(mem, [64, features]);
    const y = tb.toCategorical(Int32Array.from({ length: 64 }, (_, i) => i % 2), 2);
    const m = model();
    await m.fit(x, y, { batchSize: 16, epochs: 1, verbose: 0 });
    expect(spy).not.toHaveBeenCalled();
    const own = x.clone(); // the library's memory: the next batch is gathered ahead on a worker
    await m.fit(own, y, { batchSize: 16, epochs: 1, verbose: 0 });
    expect(spy).toHaveBeenCalledTimes(3);

    const onBatchEnd = (b: number): void => { if (b === 0) structuredClone(mem.buffer, { transfer: [mem.buffer] }); };
    const err = await m.fit(x, y, { batchSize: 16, epochs: 1, verbose: 0, callbacks: { onBatchEnd } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(tb.TensorboltError);
    expect((err as Error).message).toMatch(/^fit: tensor #\d+ \[64,1024\] lost its memory/);
    expect(m.parameters().every((p) => p.device === 'cuda')).toBe(true);
    tb.dispose([x, y, own]);
    m.dispose();
  });
});

describe.skipIf(!available)("optimizer state on 'cuda' is checked before anything changes", () => {
  function trainedOnDevice(): { net: tb.nn.Module; opt: tb.optim.Adam } {
    tb.setSeed(7);
    const net = new tb.nn.Sequential(new tb.nn.Linear(4, 3), new tb.nn.ReLU(), new tb.nn.Linear(3, 2)).to('cuda');
    const opt = new tb.optim.Adam(net.parameters(), { lr: 0.1 });
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      tb.mean(tb.square(net.forward(tb.randn([5, 4], 0, 1, { device: 'cuda' })))).backward();
      opt.step();
    }
    return { net, opt };
  }
  const stateOf = (opt: tb.optim.Optimizer): string => JSON.stringify(Object.entries(opt.stateDict().state).map(([k, e]) =>
    [k, Object.entries(e).map(([n, v]) => [n, v instanceof tb.Tensor ? [v.device, Array.from(v.dataSync())] : v])]));

  it('a negative second moment, a NaN moment, or a missing moment in device tensors is refused, the state unchanged', () => {
    const { opt } = trainedOnDevice();
    const before = stateOf(opt);
    const sd = opt.stateDict();
    const made: tb.Tensor[] = [];
    const copy = (edit: (name: string, t: tb.Tensor) => tb.Tensor | undefined): tb.optim.OptimizerStateDict => ({
      paramGroups: sd.paramGroups,
      state: Object.fromEntries(Object.entries(sd.state).map(([k, e]) => [k, Object.fromEntries(Object.entries(e).flatMap(([n, v]) => {
        if (!(v instanceof tb.Tensor)) return [[n, v]];
        const own = v.clone(); // loading replaces the optimizer's own tensors: hand it copies
        made.push(own);
        const t = edit(`${k}.${n}`, own);
        return t ? [[n, t]] : [];
      }))])) as tb.optim.OptimizerStateDict['state'],
    });
    const swap = (which: string, value: number) => (name: string, t: tb.Tensor): tb.Tensor => {
      if (name !== which) return t;
      const v = t.dataSync();
      v[1] = value;
      const d = tb.tensor(v as Float32Array, t.shape.slice(), { device: 'cuda' });
      made.push(d);
      return d;
    };
    expect(() => opt.loadStateDict(copy(swap('2.expAvgSq', -1)))).toThrow(/state 2\.expAvgSq\[1\] is -1 \(it holds squares: finite and >= 0\); the state is corrupted/);
    expect(() => opt.loadStateDict(copy(swap('0.expAvg', NaN)))).toThrow(/state 0\.expAvg\[1\] is NaN \(must be finite\)/);
    expect(() => opt.loadStateDict(copy((n, t) => (n === '1.expAvg' ? undefined : t)))).toThrow(/state 1 is incomplete: step 2 but no expAvg/);
    expect(stateOf(opt)).toBe(before);
    expect(made.every((t) => t.device === 'cuda')).toBe(true);
    // the same dict, intact, loads (onto the parameters' device)
    opt.loadStateDict(copy((_, t) => t));
    expect(stateOf(opt)).toBe(before);
    tb.dispose(made);
  });
});
