// End-to-end accuracy on the real MNIST test set (slow: minutes). Not part of `npm test`; run with
// `npm run test:e2e`. The thresholds are those of the Keras reference models.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

async function trainAndTest(model: tb.Sequential, epochs: number): Promise<{ acc: number; history: tb.History }> {
  const { train, test } = await tb.datasets.mnist();
  model.compile({ optimizer: tb.optim.optimizerFromName('adam', { learningRate: 1e-3 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const history = await model.fit(train.images, tb.toCategorical(train.labels, 10), { batchSize: 128, epochs, verbose: 2, seed: 1 });
  const [loss, acc] = model.evaluate(test.images, tb.toCategorical(test.labels, 10), { batchSize: 512 });
  console.log(`test loss ${loss!.toFixed(4)}, test accuracy ${(acc! * 100).toFixed(2)}%`);
  return { acc: acc!, history };
}

describe('MNIST end to end', () => {
  it('MLP 784-128-10, Adam 1e-3, batch 128: >= 96.5% test accuracy after 5 epochs', async () => {
    tb.setSeed(1234);
    const { acc, history } = await trainAndTest(tb.models.mnistMlp(), 5);
    const loss = history.history.loss!;
    expect(loss[4]!).toBeLessThan(loss[0]!);
    expect(acc).toBeGreaterThanOrEqual(0.965);
  });

  let cnnFp32: number | undefined;
  it('the Keras MNIST CNN, Adam 1e-3, batch 128: >= 98.0% test accuracy after 1 epoch', async () => {
    tb.setSeed(1234);
    const { acc } = await trainAndTest(tb.models.mnistCnn(), 1);
    cnnFp32 = acc;
    expect(acc).toBeGreaterThanOrEqual(0.98);
  });

  // bf16 operands with fp32 sums and fp32 weights: the accuracy stays within 0.2 points of fp32's
  // (same seed, same data order). Reported as skipped on a CPU without AVX512_BF16.
  it.skipIf(!tb.backendInfo().bf16)("the same CNN with setMatmulPrecision('bf16'): within 0.2 points of fp32", async () => {
    if (cnnFp32 === undefined) {
      tb.setSeed(1234);
      cnnFp32 = (await trainAndTest(tb.models.mnistCnn(), 1)).acc;
    }
    tb.setSeed(1234);
    tb.setMatmulPrecision('bf16');
    try {
      const { acc } = await trainAndTest(tb.models.mnistCnn(), 1);
      console.log(`bf16 ${(acc * 100).toFixed(2)}% against fp32 ${(cnnFp32 * 100).toFixed(2)}%`);
      expect(Math.abs(acc - cnnFp32)).toBeLessThanOrEqual(0.002);
    } finally {
      tb.setMatmulPrecision('highest');
    }
  });
});
