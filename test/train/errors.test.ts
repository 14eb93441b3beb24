// Misuse of the Keras-style API: every case throws TensorboltError naming the operation (or layer)
// and the shapes or values at fault, before any training where it can be known up front.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const L = tb.layers;

async function expectRejects(p: Promise<unknown>, op: string, re: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected a TensorboltError from ${op}`).toBeInstanceOf(tb.TensorboltError);
  expect((err as tb.TensorboltError).op).toBe(op);
  expect((err as Error).message).toMatch(re);
}

function expectThrows(fn: () => unknown, op: string, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected a TensorboltError from ${op}`).toBeInstanceOf(tb.TensorboltError);
  expect((err as tb.TensorboltError).op).toBe(op);
  expect((err as Error).message).toMatch(re);
}

function classifier(loss = 'sparseCategoricalCrossentropy', lastActivation: 'softmax' | 'separate' = 'softmax'): tb.Sequential {
  const m = tb.sequential(lastActivation === 'softmax'
    ? [L.dense({ units: 5, activation: 'relu', inputShape: [4], name: 'hidden' }), L.dense({ units: 3, activation: 'softmax' })]
    : [L.dense({ units: 5, activation: 'relu', inputShape: [4], name: 'hidden' }), L.dense({ units: 3 }), L.activation({ activation: 'softmax' })]);
  m.compile({ optimizer: 'adam', loss, metrics: ['accuracy'] });
  return m;
}

/** Counts training steps, to show an error came before any. */
function stepCounter(): { cb: tb.Callback; steps: () => number } {
  let n = 0;
  return { cb: { onBatchEnd: () => void n++ }, steps: () => n };
}

describe('labels out of range', () => {
  const x = tb.ones([6, 4]);
  for (const last of ['softmax', 'separate'] as const) {
    it(`sparse labels (${last === 'softmax' ? 'fused' : 'separate'} softmax): named by dataset index, before training`, async () => {
      const m = classifier('sparseCategoricalCrossentropy', last);
      const c = stepCounter();
      await expectRejects(m.fit(x, tb.tensor(Int32Array.of(0, 1, 2, 0, 3, 1)), { verbose: 0, callbacks: c.cb }), 'fit',
        /y\[4\] = 3 is not a class index in \[0, 3\)/);
      await expectRejects(m.fit(x, tb.tensor(Int32Array.of(0, -1, 2, 0, 1, 1)), { verbose: 0, callbacks: c.cb }), 'fit', /y\[1\] = -1/);
      // fractional labels are not truncated silently
      await expectRejects(m.fit(x, tb.tensor([0, 1, 2, 0, 1.5, 1]), { verbose: 0, callbacks: c.cb }), 'fit', /y\[4\] = 1\.5/);
      expect(c.steps()).toBe(0);
      expectThrows(() => m.evaluate(x, tb.tensor(Int32Array.of(0, 1, 2, 0, 7, 1))), 'evaluate', /y\[4\] = 7.*3 classes/);
    });
  }

  it('one-hot targets given to a sparse loss are named as such', async () => {
    await expectRejects(classifier().fit(x, tb.toCategorical(Int32Array.of(0, 1, 2, 0, 1, 1), 3), { verbose: 0 }), 'fit',
      /one class index per sample, got y \[6,3\].*categoricalCrossentropy/);
  });

  it('toCategorical rejects a label >= numClasses', () => {
    expectThrows(() => tb.toCategorical(Int32Array.of(0, 5), 3), 'toCategorical', /labels\[1\] = 5 is outside \[0, 3\)/);
  });

  it('the functional losses reject them too', () => {
    expect(() => tb.nn.functional.crossEntropy(tb.zeros([2, 3]), tb.tensor(Int32Array.of(0, 3)))).toThrow(/label 3 of sample 1 is outside \[0, 3\)/);
  });

  it('labels in validationData are checked before training', async () => {
    const c = stepCounter();
    await expectRejects(classifier().fit(x, tb.tensor(Int32Array.of(0, 1, 2, 0, 1, 1)),
      { verbose: 0, callbacks: c.cb, validationData: [tb.ones([2, 4]), tb.tensor(Int32Array.of(9, 0))] }), 'fit (validationData)', /y\[0\] = 9/);
    expect(c.steps()).toBe(0);
  });
});

describe('shapes', () => {
  it('x and y with different sample counts', async () => {
    const m = classifier('categoricalCrossentropy');
    await expectRejects(m.fit(tb.ones([10, 4]), tb.ones([9, 3]), { verbose: 0 }), 'fit', /different sample counts: x \[10,4\] has 10, y \[9,3\] has 9/);
    expectThrows(() => m.evaluate(tb.ones([10, 4]), tb.ones([8, 3])), 'evaluate', /x \[10,4\] has 10, y \[8,3\] has 8/);
    await expectRejects(m.fit(tb.ones([10, 4]), tb.ones([10, 3]), { verbose: 0, validationData: [tb.ones([3, 4]), tb.ones([2, 3])] }),
      'fit (validationData)', /x \[3,4\] has 3, y \[2,3\] has 2/);
  });

  it('input that does not fit the first layer names the layer, the expected and the actual shape', async () => {
    const m = classifier('categoricalCrossentropy');
    await expectRejects(m.fit(tb.ones([10, 5]), tb.ones([10, 3]), { verbose: 0 }), 'fit', /input shape \[10,5\] does not fit layer 'hidden': expected \[null,4\]/);
    expectThrows(() => m.predict(tb.ones([2, 2, 2])), 'predict', /\[2,2,2\] does not fit layer 'hidden': expected \[null,4\]/);
    expectThrows(() => m.evaluate(tb.ones([2, 3]), tb.ones([2, 3])), 'evaluate', /\[2,3\] does not fit layer 'hidden'/);
    const c = stepCounter();
    await expectRejects(m.fit(tb.ones([10, 4]), tb.ones([10, 3]), { verbose: 0, callbacks: c.cb, validationData: [tb.ones([2, 6]), tb.ones([2, 3])] }),
      'fit (validationData)', /\[2,6\] does not fit layer 'hidden': expected \[null,4\]/);
    expect(c.steps()).toBe(0);
  });

  it('a CNN fed flat images names the conv layer', async () => {
    const m = tb.sequential([L.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], name: 'conv_in' }), L.flatten(), L.dense({ units: 2, activation: 'softmax' })]);
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    await expectRejects(m.fit(tb.ones([4, 64]), tb.ones([4, 2]), { verbose: 0 }), 'fit', /\[4,64\] does not fit layer 'conv_in': expected \[null,8,8,1\]/);
  });

  it('targets that do not match the output name both shapes', async () => {
    await expectRejects(classifier('categoricalCrossentropy').fit(tb.ones([4, 4]), tb.ones([4, 2]), { verbose: 0 }), 'fit', /y \[4,2\] does not match the model output \[4,3\]/);
    const r = tb.sequential([L.dense({ units: 1, inputShape: [4] })]);
    r.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await expectRejects(r.fit(tb.ones([4, 4]), tb.ones([4]), { verbose: 0 }), 'meanSquaredError', /yTrue \[4\] and yPred \[4,1\]/);
  });
});

describe('arguments', () => {
  const m = () => classifier('categoricalCrossentropy');
  const x = tb.ones([8, 4]);
  const y = tb.toCategorical(Int32Array.of(0, 1, 2, 0, 1, 2, 0, 1), 3);

  it('batchSize <= 0 or not an integer', async () => {
    for (const bs of [0, -4, 2.5, NaN]) {
      await expectRejects(m().fit(x, y, { batchSize: bs, verbose: 0 }), 'fit', new RegExp(`batchSize must be a positive integer, got ${bs}`));
    }
    expectThrows(() => m().predict(x, { batchSize: 0 }), 'predict', /batchSize must be a positive integer, got 0/);
    expectThrows(() => m().evaluate(x, y, { batchSize: -1 }), 'evaluate', /batchSize must be a positive integer, got -1/);
  });

  it('an empty dataset', async () => {
    await expectRejects(m().fit(tb.zeros([0, 4]), tb.zeros([0, 3]), { verbose: 0 }), 'fit', /data set is empty \(x \[0,4\]\)/);
    expectThrows(() => m().evaluate(tb.zeros([0, 4]), tb.zeros([0, 3])), 'evaluate', /empty/);
  });

  it('epochs, validationSplit, validationData and a missing compile', async () => {
    await expectRejects(m().fit(x, y, { epochs: -1, verbose: 0 }), 'fit', /epochs must be a non-negative integer, got -1/);
    await expectRejects(m().fit(x, y, { epochs: 1.5, verbose: 0 }), 'fit', /epochs/);
    await expectRejects(m().fit(x, y, { validationSplit: 1, verbose: 0 }), 'fit', /validationSplit must be in \(0, 1\), got 1/);
    await expectRejects(m().fit(x, y, { validationSplit: 0.05, verbose: 0 }), 'fit', /validationSplit 0.05 of 8 samples leaves an empty split/);
    await expectRejects(m().fit(x, y, { validationData: [x] as unknown as [tb.Tensor, tb.Tensor], verbose: 0 }), 'fit', /validationData must be \[x, y\]/);
    await expectRejects(tb.sequential([L.dense({ units: 1, inputShape: [4] })]).fit(x, y), 'fit', /compile/);
    // nested arrays are taken (as Keras takes them: test/train/keras_habits.test.ts); anything else is not
    await expectRejects(m().fit('1,2,3,4' as unknown as tb.Tensor, y, { verbose: 0 }), 'fit', /x must be a Tensor/);
    expectThrows(() => tb.sequential().predict(x), 'predict', /no layers/);
  });

  it('an unknown loss name lists the valid ones', () => {
    expectThrows(() => tb.sequential([L.dense({ units: 1, inputShape: [1] })]).compile({ optimizer: 'sgd', loss: 'crossentropy' }), 'compile',
      /unknown loss 'crossentropy'; valid losses: categoricalCrossentropy, .*meanAbsoluteError.*mse/);
  });

  it('an unknown optimizer name lists the valid ones', () => {
    expectThrows(() => tb.sequential([L.dense({ units: 1, inputShape: [1] })]).compile({ optimizer: 'adamax', loss: 'mse' }), 'optimizer',
      /unknown optimizer 'adamax'; valid names: sgd, adam, adamw, rmsprop, adagrad, adadelta/);
  });
});

describe('a NaN loss during fit', () => {
  it('stops with an error naming the epoch and the batch (NaN in the data)', async () => {
    const xs = new Float32Array(40).fill(0.5);
    xs[5 * 4 + 2] = NaN; // sample 5: batch 3 of 5 with batch size 2, no shuffling
    const m = classifier('categoricalCrossentropy');
    const c = stepCounter();
    const y = tb.toCategorical(Int32Array.from({ length: 10 }, (_, i) => i % 3), 3);
    await expectRejects(m.fit(tb.tensor(xs, [10, 4]), y, { batchSize: 2, shuffle: false, verbose: 0, callbacks: c.cb }), 'fit',
      /loss became NaN at epoch 1, batch 3 of 5; training stopped/);
    expect(c.steps()).toBe(2);
  });

  it('in a later epoch (weights diverged), and with a regression loss', async () => {
    const m = tb.sequential([L.dense({ units: 1, inputShape: [2] })]);
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const poison: tb.Callback = {
      onEpochEnd: (e) => { if (e === 1) (m.layers[0] as unknown as { kernel: tb.Tensor }).kernel.buf().fill(Infinity); },
    };
    await expectRejects(m.fit(tb.ones([6, 2]), tb.ones([6, 1]), { epochs: 5, batchSize: 4, verbose: 0, callbacks: poison }), 'fit',
      /loss became (NaN|Infinity) at epoch 3, batch 1 of 2/);
  });
});
