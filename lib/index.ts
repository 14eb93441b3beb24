// tensorbolt's public entry.
export { Tensor, type NestedArray, type DType, type Device } from './tensor/tensor.js';
export { TensorboltError } from './tensor/errors.js';
export { memory, type MemoryInfo, type DeviceMemoryInfo } from './tensor/engine.js';
export { tidy, keep, dispose } from './tensor/tidy.js';
export { noGrad, isGradEnabled, backward, registerGradHook, queueBackwardCallback, type BackwardOptions } from './tensor/autograd.js';
export { setSeed, Random } from './tensor/random.js';
export { setDebug, isDebug } from './tensor/debug.js';
export {
  tensor, scalar, zeros, ones, full, zerosLike, onesLike, randn, rand, randint, arange, eye,
  type TensorLike, type RandomOptions,
} from './tensor/creation.js';
export * from './ops/reshape.js';
export * from './ops/matmul.js';
export * from './ops/linear.js';
export * from './ops/elementwise.js';
export * from './ops/torch_compare.js';
export * from './ops/activation.js';
// named, not *: softmax.js also holds fit's internal softmaxCrossEntropyAndProbs
export { softmax, logSoftmax, softmaxCrossEntropy, type LossReduction, type SoftmaxCrossEntropyOptions } from './ops/softmax.js';
export * from './ops/reduce.js';
export * from './ops/layout.js';
export * from './ops/tensor_methods.js';
export {
  backendInfo, setNumThreads, setGemmBackend, setIsa, setMatmulPrecision, getMatmulPrecision, type MatmulPrecision, type IsaName,
} from './ops/runtime.js';
export { cuda, setDefaultDevice, getDefaultDevice, type DeviceName, type CreateOptions, type CudaInfo } from './tensor/device.js';
export * from './ops/device.js';
export * from './ops/conv.js';
export * from './ops/pool.js';
export * from './ops/dropout.js';
export * from './ops/batchnorm.js';
export * from './ops/rnn.js';
export { embedding, type EmbeddingOptions } from './ops/embedding.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { optimizers } from './optim/keras.js';
import { layers as coreLayers } from './nn/keras_layers.js';
import { recurrentLayers } from './nn/keras_recurrent.js';
/** tb.layers.*: the Keras-style layer factories. */
export const layers = { ...coreLayers, ...recurrentLayers };
export { Layer, type ActivationName } from './nn/keras_layers.js';
export {
  RecurrentLayer, type RNNLayerArgs, type LSTMLayerArgs, type GRULayerArgs, type EmbeddingArgs, type BidirectionalArgs,
  type RecurrentCallOptions, type MergeMode,
} from './nn/keras_recurrent.js';
export { Sequential, sequential, type CompileArgs, type ModelInput } from './train/sequential.js';
export type { FitArgs } from './train/fit.js';
export { trainInWorker, workerTask, TrainingJob, type TrainingEvents, type WorkerTaskContext } from './train/worker.js';
export { History, EarlyStopping, earlyStopping, callback, type Callback, type Logs } from './train/callbacks.js';
export { losses } from './train/losses.js';
export * as models from './train/zoo.js';
export * as metrics from './train/metrics.js';
export * as data from './data/index.js';
export * as distributed from './distributed/index.js';
export { datasets, toCategorical, DataLoader, TensorDataset } from './data/index.js';
export { version } from './version.js';
export { loadLayersModel as loadModel, saveLayersModel, type SaveOptions, type LoadOptions } from './io/layers_model.js';
export {
  save, load, loadSafetensors, serializeSafetensors, parseSafetensors, type TensorDict, type SafetensorsFile,
} from './io/safetensors.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointArgs, type Checkpoint } from './io/checkpoint.js';
