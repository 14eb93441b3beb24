// Keras and TensorFlow.js habits that tripped real ports, each from the snippet that failed:
// optimizer objects with a learning rate, learning_rate in snake_case, predict on plain arrays,
// History's per-epoch time.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { expectOpError } from '../helpers/opcheck.js';

function linearModel(): tb.Sequential {
  tb.setSeed(1);
  return tb.sequential([tb.layers.dense({ units: 1, inputShape: [1] })]);
}

describe('optimizer objects (tb.optimizers) and learning_rate', () => {
  it('the failing snippet: compile({ optimizer: tb.optimizers.adadelta({ learningRate: 1.0 }) })', () => {
    const model = linearModel();
    const opt = tb.optimizers.adadelta({ learningRate: 1.0 });
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    expect(model.optimizer).toBe(opt);
    expect(opt.paramGroups.length === 0 || opt.defaults.lr === 1).toBe(true);
    expect(opt.defaults.lr).toBe(1);
    // Keras's other defaults stay (rho 0.95, epsilon 1e-7)
    expect((opt.defaults as unknown as Record<string, number>).rho).toBe(0.95);
  });

  it('snake_case as Keras spells it, the same optimizer as camelCase, for every option that has one', () => {
    const snake = tb.optimizers.adam({ learning_rate: 0.01, beta_1: 0.8, beta_2: 0.99 }).defaults;
    const camel = tb.optimizers.adam({ learningRate: 0.01, beta1: 0.8, beta2: 0.99 }).defaults;
    expect(snake).toEqual(camel);
    expect(snake.lr).toBe(0.01);
    expect(tb.optimizers.adamw({ weight_decay: 0.1 }).defaults).toEqual(tb.optimizers.adamw({ weightDecay: 0.1 }).defaults);
    expect(tb.optimizers.adagrad({ initial_accumulator_value: 0.5 }).defaults)
      .toEqual(tb.optimizers.adagrad({ initialAccumulatorValue: 0.5 }).defaults);
    expect(tb.optim.optimizerFromName('SGD', { learning_rate: 0.5 }).defaults.lr).toBe(0.5);
    for (const name of tb.optim.optimizerNames) expect(tb.optimizers[name]().constructor).toBe(tb.optim.optimizerFromName(name).constructor);
  });

  it('one option given twice, or one the optimizer lacks, is an error naming it', () => {
    expectOpError(() => tb.optimizers.sgd({ learningRate: 0.1, learning_rate: 0.2 }), 'optimizer', /got learningRate twice/);
    expectOpError(() => tb.optimizers.sgd({ beta_1: 0.9 }), 'optimizer', /'sgd' has no option 'beta_1'/);
    expectOpError(() => tb.optimizers.rmsprop({ learning_rate: -1 }), 'RMSprop', /learning rate/);
  });

  // That TypeScript rejects the typo is checked by test/package/consumer_types.test.ts, which runs tsc.
  it('a typo in an optimizer name is an error at run time too; Keras class names are names', () => {
    const model = linearModel();
    // @ts-expect-error 'adamm' is not an optimizer name
    expectOpError(() => model.compile({ optimizer: 'adamm', loss: 'mse' }), 'optimizer', /unknown optimizer 'adamm'/);
    model.compile({ optimizer: 'RMSprop', loss: 'mse' }); // Keras's class names are names too
    expect(model.optimizer).toBeInstanceOf(tb.optim.RMSprop);
  });
});

describe('plain arrays where Keras takes arrays', () => {
  it('the failing snippet: model.predict([[4]])', async () => {
    const model = linearModel();
    model.compile({ optimizer: tb.optimizers.sgd({ learningRate: 0.05 }), loss: 'meanSquaredError' });
    const xs = [[1], [2], [3], [4]];
    await model.fit(xs, xs, { epochs: 150, batchSize: 4, verbose: 0 });
    const before = tb.memory().numTensors; // the weights and their gradients
    await model.fit(xs, xs, { epochs: 150, batchSize: 4, verbose: 0 });
    const p = model.predict([[4]]);
    expect(p.shape).toEqual([1, 1]);
    expect(p.item()).toBeCloseTo(4, 1);
    const [loss] = model.evaluate([[5]], [[5]]);
    expect(loss).toBeLessThan(0.1);
    p.dispose();
    expect(tb.memory().numTensors).toBe(before); // the tensors made from the arrays were freed
  });

  it('a ragged array is an error naming the call', () => {
    const model = linearModel();
    expectOpError(() => model.predict([[1], [2, 3]]), 'tensor', /ragged/);
  });
});

describe('History', () => {
  it('holds each epoch\'s time in seconds beside its logs', async () => {
    const model = linearModel();
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    const h = await model.fit(tb.ones([8, 1]), tb.ones([8, 1]), { epochs: 3, verbose: 0 });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(h.epochTime.length).toBe(3);
    for (const t of h.epochTime) expect(t).toBeGreaterThan(0);
    expect(Object.keys(h.history)).toEqual(['loss']); // not a metric
  });
});
