// PyTorch habits that tripped real ports, each from the snippet that failed: Conv2d's positional
// stride and padding, the loss classes, tb.save(model, path), MNIST channels first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError } from '../helpers/opcheck.js';

const nn = tb.nn;
const F = tb.nn.functional;
const dir = mkdtempSync(join(tmpdir(), 'tb-habits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nn.Conv2d positional stride and padding', () => {
  it('the failing snippet: new nn.Conv2d(1, 32, 3, 1)', () => {
    const c = new nn.Conv2d(1, 32, 3, 1);
    expect(c.stride).toEqual([1, 1]);
    expect(c.forward(tb.zeros([2, 1, 28, 28])).shape).toEqual([2, 32, 26, 26]);
  });

  it('stride then padding, as in PyTorch; a trailing options object; the options object alone', () => {
    expect(new nn.Conv2d(1, 4, 3, 2, 1).forward(tb.zeros([1, 1, 8, 8])).shape).toEqual([1, 4, 4, 4]);
    const c = new nn.Conv2d(1, 4, 3, 1, 'same', { bias: false });
    expect(c.bias).toBeNull();
    expect(c.forward(tb.zeros([1, 1, 5, 5])).shape).toEqual([1, 4, 5, 5]);
    expect(new nn.Conv2d(1, 4, 3, { stride: 2 }).stride).toEqual([2, 2]);
    expect(new nn.Conv2d(1, 4, [3, 2], [2, 1], [1, 0]).padding).toEqual([1, 0]);
  });

  it('positional and object forms compute the same thing', () => {
    tb.setSeed(3);
    const a = new nn.Conv2d(2, 3, 3, 2, 1);
    tb.setSeed(3);
    const b = new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1 });
    const x = tb.randn([1, 2, 6, 6]);
    expect(tb.equal(a.forward(x), b.forward(x))).toBe(true);
  });

  it('dilation and groups are refused, not dropped; a stride given twice is an error', () => {
    expectOpError(() => new (nn.Conv2d as unknown as new (...a: unknown[]) => unknown)(1, 4, 3, 1, 0, 2), 'Conv2d', /dilation and groups are not supported/);
    expectOpError(() => new nn.Conv2d(1, 4, 3, 2, 0, { stride: 1 } as never), 'Conv2d', /stride is given twice/);
    expectOpError(() => new nn.Conv2d(1, 4, 3, 0), 'Conv2d', /stride must be an integer >= 1, got 0/);
  });
});

describe('loss classes with PyTorch names', () => {
  const logits = () => tb.tensor([[2, -1, 0.5], [0.1, 0.2, 3], [-1, 4, 0]]);
  const labels = () => tb.tensor([0, 2, 1], [3], 'int32');

  it('the failing snippet: criterion = new nn.CrossEntropyLoss(); criterion.forward(out, y)', () => {
    const criterion = new nn.CrossEntropyLoss();
    const out = logits().requiresGrad_();
    const loss = criterion.forward(out, labels());
    expect(loss.item()).toBeCloseTo(F.crossEntropy(logits(), labels()).item(), 6);
    loss.backward();
    expect(out.grad!.shape).toEqual([3, 3]);
  });

  it('each class equals its functional form, with its options', () => {
    const p = tb.tensor([[0.2, 0.9], [0.5, 0.01]]);
    const t = tb.tensor([[0, 1], [1, 0]]);
    const same = (a: tb.Tensor, b: tb.Tensor) => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    same(new nn.CrossEntropyLoss({ labelSmoothing: 0.1, reduction: 'sum' }).forward(logits(), labels()),
         F.crossEntropy(logits(), labels(), { labelSmoothing: 0.1, reduction: 'sum' }));
    same(new nn.NLLLoss().forward(tb.logSoftmax(logits()), labels()), F.nllLoss(tb.logSoftmax(logits()), labels()));
    same(new nn.MSELoss({ reduction: 'none' }).forward(p, t), F.mseLoss(p, t, { reduction: 'none' }));
    same(new nn.L1Loss().forward(p, t), F.l1Loss(p, t));
    same(new nn.BCELoss().forward(p, t), F.binaryCrossEntropy(p, t));
    same(new nn.BCEWithLogitsLoss({ reduction: 'sum' }).forward(p, t), F.binaryCrossEntropyWithLogits(p, t, { reduction: 'sum' }));
  });

  it('gradient by finite differences through a loss module', () => {
    checkOp({
      name: 'MSELoss', inputs: [{ shape: [2, 3] }, { shape: [2, 3], grad: false }],
      fn: (a, b) => new nn.MSELoss().forward(a, b),
      ref: (a, b) => ({ shape: [], data: Float64Array.of(a.data.reduce((s, v, i) => s + (v - b.data[i]!) ** 2, 0) / 6) }),
    });
  });

  it('bad options fail at construction, naming the class', () => {
    expectOpError(() => new nn.MSELoss({ reduction: 'avg' as never }), 'MSELoss', /reduction must be 'mean', 'sum' or 'none', got "avg"/);
    expectOpError(() => new nn.CrossEntropyLoss({ label_smoothing: 0.1 } as never), 'CrossEntropyLoss', /unknown option 'label_smoothing'/);
    expectOpError(() => new nn.BCELoss(3 as never), 'BCELoss', /options must be an object/);
    expectOpError(() => (new nn.MSELoss().forward as (...a: unknown[]) => unknown)(tb.zeros([1]), tb.zeros([1]), tb.zeros([1])), 'MSELoss.forward', /at most 2/);
  });
});

describe('tb.save(model, path)', () => {
  class Net extends nn.Module {
    fc1 = new nn.Linear(4, 3);
    bn = new nn.BatchNorm1d(3);
    forward(x: tb.Tensor) { return this.bn.forward(this.fc1.forward(x)); }
  }

  it('the failing snippet: tb.save(net, "x.safetensors") saves the state dict', () => {
    const net = new Net();
    const path = join(dir, 'net.safetensors');
    tb.save(net, path);
    const back = tb.load(path);
    expect(Object.keys(back).sort()).toEqual(Object.keys(net.stateDict()).sort());
    const other = new Net();
    other.loadStateDict(back);
    expect(tb.equal(other.fc1.weight, net.fc1.weight)).toBe(true);
  });

  it('a Keras model saves its weights the same way', () => {
    const model = tb.sequential([tb.layers.dense({ units: 2, inputShape: [3] }), tb.layers.dense({ units: 1 })]);
    const path = join(dir, 'keras.safetensors');
    tb.save(model, path);
    expect(Object.keys(tb.load(path)).length).toBe(4);
  });

  it('an object holding something else says to pass stateDict()', () => {
    expectOpError(() => tb.save({ w: tb.zeros([1]), note: 'x' } as never, join(dir, 'bad.safetensors')), 'save', /'note' is not a Tensor.*stateDict\(\)/);
  });
});

describe('datasets.mnist({ dataFormat: "NCHW" })', () => {
  it('channels first for PyTorch-style models, the same pixels as NHWC', async () => {
    const nhwc = await tb.datasets.mnist();
    const nchw = await tb.datasets.mnist({ dataFormat: 'NCHW' });
    expect(nchw.train.images.shape).toEqual([60000, 1, 28, 28]);
    expect(nchw.test.images.shape).toEqual([10000, 1, 28, 28]);
    const a = nhwc.test.images.dataSync();
    const b = nchw.test.images.dataSync();
    let same = a.length === b.length;
    for (let i = 0; same && i < a.length; i++) same = a[i] === b[i];
    expect(same).toBe(true);
    // straight into nn.Conv2d
    const x = nchw.test.images.slice([0, 0, 0, 0], [2, -1, -1, -1]);
    expect(new nn.Conv2d(1, 8, 3, 1).forward(x).shape).toEqual([2, 8, 26, 26]);
    await expect(tb.datasets.mnist({ dataFormat: 'channels_first' as never })).rejects.toThrow(/dataFormat must be 'NHWC' or 'NCHW'/);
    await expect(tb.datasets.mnist({ channelsFirst: true } as never)).rejects.toThrow(/unknown option 'channelsFirst'/);
  });
});
