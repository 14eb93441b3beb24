// tb.data: reading, batching and augmenting data. The lead's lib/index.ts exposes this module as
// `data` and re-exports `datasets` and `toCategorical` at the top level.
import { mnist, mnistSync } from './mnist.js';

export { readIdx, encodeIdx, writeIdx, type IdxArray, type IdxData, type IdxDType, type ReadIdxOptions } from './idx.js';
export { TensorDataset, Subset, subset, type Dataset, type Sample, type SampleValue } from './dataset.js';
export { DataLoader, type DataLoaderOptions, type LabeledTensors, type Batch } from './dataloader.js';
export { DistributedSampler, type Sampler, type DistributedSamplerOptions } from '../distributed/sampler.js';
export { mnist, mnistSync, type Mnist, type MnistSplit, type MnistOptions } from './mnist.js';
export { toCategorical, normalize } from './preprocess.js';
export type { Transform } from './transforms.js';
export * as transforms from './transforms.js';

/** Built-in datasets (all offline). */
export const datasets = { mnist, mnistSync };
