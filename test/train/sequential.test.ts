// The Keras-style model: building, parameter counts, summary(), predict() and evaluate().
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { expectOpError } from '../helpers/opcheck.js';

const L = tb.layers;

function summaryOf(m: tb.Sequential): string {
  let printed = '';
  const text = m.summary((s) => (printed = s));
  expect(printed).toBe(text);
  return text;
}

/** The row of the summary table for a layer. */
function row(text: string, layerName: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${layerName} (`));
  expect(line, `summary row for ${layerName}`).toBeDefined();
  return line!;
}

describe('reference models', () => {
  it('MNIST MLP 784-128-10 has 101,770 parameters; summary lists shapes and counts', () => {
    const m = tb.models.mnistMlp();
    expect(m.numParameters()).toBe(101770);
    const text = summaryOf(m);
    const [flat, d1, d2] = m.layers;
    expect(row(text, flat!.name)).toMatch(/\(Flatten\)\s+\[null,784\]\s+0\s*$/);
    expect(row(text, d1!.name)).toMatch(/\(Dense\)\s+\[null,128\]\s+100480\s*$/);
    expect(row(text, d2!.name)).toMatch(/\(Dense\)\s+\[null,10\]\s+1290\s*$/);
    expect(text).toMatch(/Total params: 101770\n/);
    expect(text).toMatch(/Trainable params: 101770\n/);
    expect(text).toMatch(/Non-trainable params: 0\n/);
  });

  it('MNIST CNN has 1,199,882 parameters with the Keras shapes', () => {
    const m = tb.models.mnistCnn();
    expect(m.numParameters()).toBe(1199882);
    const text = summaryOf(m);
    const want: [string, string, number][] = [
      ['Conv2D', '[null,26,26,32]', 320], ['Conv2D', '[null,24,24,64]', 18496], ['MaxPooling2D', '[null,12,12,64]', 0],
      ['Dropout', '[null,12,12,64]', 0], ['Flatten', '[null,9216]', 0], ['Dense', '[null,128]', 1179776],
      ['Dropout', '[null,128]', 0], ['Dense', '[null,10]', 1290],
    ];
    m.layers.forEach((l, i) => {
      const [cls, shape, count] = want[i]!;
      expect(l.className).toBe(cls);
      expect(row(text, l.name)).toContain(`(${cls})`);
      expect(row(text, l.name)).toMatch(new RegExp(`${shape.replace(/[[\]]/g, '\\$&')}\\s+${count}\\s*$`));
    });
    expect(text).toContain('Total params: 1199882');
    expect(text.startsWith('Model: "sequential"')).toBe(true);
  });

  it('counts moving statistics of batch norm as non-trainable', () => {
    const m = tb.sequential([L.dense({ units: 8, inputShape: [4] }), L.batchNormalization(), L.dense({ units: 2 })]);
    const text = summaryOf(m);
    expect(text).toContain('Total params: 90'); // 40 + 32 + 18
    expect(text).toContain('Trainable params: 74');
    expect(text).toContain('Non-trainable params: 16');
    expect(m.numParameters()).toBe(74);
  });

  it('a model without an inputShape shows ? until it has seen data', () => {
    const m = tb.sequential([L.dense({ units: 3 }), L.dense({ units: 1 })]);
    expect(row(summaryOf(m), m.layers[0]!.name)).toMatch(/\?\s+0\s*$/);
    m.predict(tb.ones([2, 5]));
    const text = summaryOf(m);
    expect(row(text, m.layers[0]!.name)).toMatch(/\[null,3\]\s+18\s*$/);
    expect(text).toContain('Total params: 22');
  });
});

describe('building', () => {
  it('builds every layer when the first has an inputShape, and parameters() lists them by layer name', () => {
    const m = tb.sequential({ name: 'net', layers: [L.dense({ units: 4, inputShape: [3], name: 'a' }), L.dense({ units: 2, name: 'b' })] });
    expect(m.layers.every((l) => l.built)).toBe(true);
    expect(m.namedParameters().map(([k]) => k)).toEqual(['a.kernel', 'a.bias', 'b.kernel', 'b.bias']);
    expect(summaryOf(m).startsWith('Model: "net"')).toBe(true);
  });

  it('add() accepts layers only', () => {
    const m = tb.sequential();
    expectOpError(() => m.add({} as tb.Layer), 'Sequential.add', /expected a layer/);
    m.add(L.dense({ units: 2, inputShape: [3] }));
    m.add(L.dense({ units: 1 }));
    expect(m.predict(tb.ones([4, 3])).shape).toEqual([4, 1]);
  });

  it('rejects layers that do not fit each other, naming the layer', () => {
    expectOpError(() => tb.sequential([L.dense({ units: 4, inputShape: [3] }), L.conv2d({ filters: 2, kernelSize: 3, name: 'conv_bad' })]),
      'conv_bad', /\(batch, height, width, channels\).*\[4\]/);
    expectOpError(() => tb.sequential([L.flatten({ inputShape: [2, 2, 1] }), L.reshape({ targetShape: [3], name: 'rs_bad' })]),
      'rs_bad', /\[4\].*\[3\]/);
  });

  it('a layer already built for another shape cannot join a model with a different one', () => {
    const d = L.dense({ units: 2, name: 'used' });
    d.apply(tb.ones([1, 5]));
    expectOpError(() => tb.sequential([L.dense({ units: 3, inputShape: [2] }), d]), 'used', /expected last dimension 5, got 3/);
  });
});

describe('predict', () => {
  const make = () => {
    tb.setSeed(4);
    const m = tb.sequential([
      L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [6, 6, 2] }),
      L.batchNormalization(),
      L.maxPooling2d(),
      L.dropout({ rate: 0.5 }),
      L.flatten(),
      L.dense({ units: 4, activation: 'softmax' }),
    ]);
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    return m;
  };

  it('returns probabilities in inference mode, the same in one batch or many', () => {
    const m = make();
    const x = tb.randn([37, 6, 6, 2], 0, 1, { seed: 1 });
    const a = m.predict(x, { batchSize: 64 });
    const b = m.predict(x, { batchSize: 5 });
    expect(a.shape).toEqual([37, 4]);
    expect(b.shape).toEqual([37, 4]);
    const av = a.dataSync(), bv = b.dataSync();
    for (let i = 0; i < av.length; i++) expect(bv[i]).toBeCloseTo(av[i]!, 6);
    for (let r = 0; r < 37; r++) expect(av[r * 4]! + av[r * 4 + 1]! + av[r * 4 + 2]! + av[r * 4 + 3]!).toBeCloseTo(1, 5);
    // deterministic: dropout is off and batch norm uses its moving statistics
    expect(Array.from(m.predict(x).dataSync())).toEqual(Array.from(m.predict(x).dataSync()));
    expect(a.requiresGrad).toBe(false);
  });

  it('does not leak tensors', () => {
    const m = make();
    const x = tb.randn([20, 6, 6, 2]);
    m.predict(x, { batchSize: 7 }).dispose();
    const before = tb.memory().numTensors;
    m.predict(x, { batchSize: 7 }).dispose();
    expect(tb.memory().numTensors).toBe(before);
  });
});

describe('evaluate', () => {
  it('returns [loss, accuracy] matching a reference computed from predict, independent of batch size', () => {
    tb.setSeed(10);
    const m = tb.sequential([L.dense({ units: 6, activation: 'tanh', inputShape: [5] }), L.dense({ units: 3, activation: 'softmax' })]);
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const n = 23;
    const x = tb.randn([n, 5], 0, 1, { seed: 2 });
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 5) % 3);
    const y = tb.toCategorical(labels, 3);
    const p = m.predict(x).dataSync();
    let lossRef = 0, ok = 0;
    for (let i = 0; i < n; i++) {
      lossRef -= Math.log(p[i * 3 + labels[i]!]!);
      const row = [p[i * 3]!, p[i * 3 + 1]!, p[i * 3 + 2]!];
      if (row.indexOf(Math.max(...row)) === labels[i]) ok++;
    }
    lossRef /= n;
    const [loss, acc] = m.evaluate(x, y, { batchSize: 4 });
    expect(loss).toBeCloseTo(lossRef, 5);
    expect(acc).toBeCloseTo(ok / n, 10);
    const [loss2, acc2] = m.evaluate(x, y, { batchSize: 100 });
    expect(loss2).toBeCloseTo(loss!, 5);
    expect(acc2).toBe(acc);
    expect(m.evaluateDict(x, y)).toEqual({ loss: expect.closeTo(loss!, 5), accuracy: acc });
  });

  it('with sparse labels and a regression loss', () => {
    const m = tb.sequential([L.dense({ units: 3, activation: 'softmax', inputShape: [2] })]);
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    const x = tb.randn([6, 2]);
    const yi = tb.tensor(Int32Array.of(0, 1, 2, 0, 1, 2));
    const p = m.predict(x).dataSync();
    let ref = 0;
    for (let i = 0; i < 6; i++) ref -= Math.log(p[i * 3 + (i % 3)]!) / 6;
    const [l] = m.evaluate(x, yi);
    expect(l).toBeCloseTo(ref, 5);
    // labels as float (N, 1), as Keras accepts
    expect(m.evaluate(x, tb.tensor([[0], [1], [2], [0], [1], [2]]))[0]).toBeCloseTo(ref, 5);

    const r = tb.sequential([L.dense({ units: 1, inputShape: [2] })]);
    r.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['mae'] });
    const yr = tb.randn([6, 1]);
    const pr = r.predict(x).dataSync(), yv = yr.dataSync();
    let mse = 0, mae = 0;
    for (let i = 0; i < 6; i++) {
      mse += (pr[i]! - yv[i]!) ** 2 / 6;
      mae += Math.abs(pr[i]! - yv[i]!) / 6;
    }
    const [lm, am] = r.evaluate(x, yr);
    expect(lm).toBeCloseTo(mse, 5);
    expect(am).toBeCloseTo(mae, 5);
  });

  it('needs compile() first', () => {
    const m = tb.sequential([L.dense({ units: 1, inputShape: [2] })]);
    expectOpError(() => m.evaluate(tb.ones([2, 2]), tb.ones([2, 1])), 'evaluate', /compile/);
  });
});

describe('compile', () => {
  it('resolves accuracy to the variant that fits the loss and keeps the user\'s label', () => {
    const m = tb.sequential([L.dense({ units: 2, inputShape: [2] })]);
    m.compile({ optimizer: 'adam', loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    expect(m.metricNames).toEqual(['binaryAccuracy']);
    m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['acc'] });
    expect(m.metricNames).toEqual(['sparseCategoricalAccuracy']);
    expect(m.metricLabels).toEqual(['acc']);
    expect(m.lossName).toBe('sparseCategoricalCrossentropy');
  });

  it('rejects unknown metrics and malformed arguments', () => {
    const m = tb.sequential([L.dense({ units: 2, inputShape: [2] })]);
    expectOpError(() => m.compile({ optimizer: 'adam', loss: 'mse', metrics: ['f7'] }), 'compile', /unknown metric 'f7'; valid metrics: .*accuracy/);
    expectOpError(() => m.compile(undefined as unknown as tb.CompileArgs), 'compile', /optimizer, loss/);
    expectOpError(() => m.compile({ optimizer: 3 as unknown as string, loss: 'mse' }), 'compile', /optimizer must be/);
    expectOpError(() => m.compile({ optimizer: 'sgd', loss: 5 as unknown as string }), 'compile', /loss must be/);
  });
});
