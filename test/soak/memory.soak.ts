// The long soak (`npm run test:soak`): 20,000 Keras-fit steps of an MLP (64-128-64-10, batch 32,
// Adam) and 500 PyTorch-style steps of a CNN (two 3x3 convs, max pooling, a linear head; batch 16
// of 28x28x1, SGD with momentum). After warm-up RSS must grow less than 5% and the live tensors
// return to the baseline. About 40 s on 2 cores.
import { afterAll, describe, it } from 'vitest';
import { cleanBundles } from '../reliability/bundle.js';
import { expectFlat, soak } from '../reliability/soak-run.js';

afterAll(cleanBundles);

describe('soak', () => {
  it('MLP, 20,000 steps', async () => {
    expectFlat(await soak('mlp', 20_000, 32, 1000));
  }, 600_000);

  it('CNN, 500 steps', async () => {
    expectFlat(await soak('cnn', 500, 16, 25));
  }, 600_000);
});
