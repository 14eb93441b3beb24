// One model, two fit() calls at once: they would interleave batches on the same weights and
// optimizer, and the first one's end switched dropout off for most of the second's batches. The
// second call is refused; the first trains exactly as it would alone. (Two models training at once
// on one thread stay allowed: test/reliability/workers.test.ts.)
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

function setup() {
  tb.setSeed(7);
  const x = tb.randn([96, 8]);
  const y = tb.toCategorical(tb.randint(0, 2, [96]), 2);
  const model = tb.sequential([
    tb.layers.dense({ units: 8, activation: 'relu', inputShape: [8] }),
    tb.layers.dropout({ rate: 0.5, seed: 3 }),
    tb.layers.dense({ units: 2, activation: 'softmax' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return { x, y, model };
}
const weights = (m: tb.Sequential) => m.parameters().map((p) => Array.from(p.dataSync()));

describe('fit on a model that is already training', () => {
  it('a second concurrent call is refused with a TensorboltError; the first trains as it would alone', async () => {
    const alone = setup();
    await alone.model.fit(alone.x, alone.y, { batchSize: 8, epochs: 2, verbose: 0, seed: 1 });
    const s = setup();
    const training: boolean[] = [];
    const first = s.model.fit(s.x, s.y, { batchSize: 8, epochs: 2, verbose: 0, seed: 1, callbacks: { onBatchEnd: () => void training.push(s.model.training) } });
    const second = s.model.fit(s.x, s.y, { batchSize: 4, epochs: 1, verbose: 0, seed: 2 });
    await expect(second).rejects.toThrow(tb.TensorboltError);
    await expect(second).rejects.toThrow(/^fit: model 'sequential' is already training: a fit\(\) call on it has not finished; await it first/);
    await first;
    expect(training.every((t) => t)).toBe(true); // dropout stayed on for every batch
    expect(weights(s.model)).toEqual(weights(alone.model));
    expect(s.model.training).toBe(false);
    // once it has finished, fit runs again; a call from inside its own callback is refused as well
    let inner: unknown = null;
    await s.model.fit(s.x, s.y, { batchSize: 32, epochs: 1, verbose: 0, callbacks: { onBatchEnd: async () => { inner ??= await s.model.fit(s.x, s.y, { verbose: 0 }).catch((e: unknown) => e); } } });
    expect(String(inner)).toMatch(/already training/);
  });

  it('a fit that failed releases the model', async () => {
    const s = setup();
    await expect(s.model.fit(s.x, s.y, { batchSize: 8, verbose: 0, callbacks: { onBatchEnd: () => { throw new Error('stop'); } } })).rejects.toThrow('stop');
    await expect(s.model.fit(s.x, s.y, { batchSize: 8, verbose: 0 })).resolves.toBeInstanceOf(tb.History);
  });
});
