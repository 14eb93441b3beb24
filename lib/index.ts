// tensorbolt's public entry.
export { Tensor, type NestedArray, type DType, type Device } from './tensor/tensor.js';
export { TensorboltError } from './tensor/errors.js';
export { memory, type MemoryInfo } from './tensor/engine.js';
export { tidy, keep, dispose } from './tensor/tidy.js';
export { noGrad, isGradEnabled, backward, type BackwardOptions } from './tensor/autograd.js';
export { setSeed, Random } from './tensor/random.js';
export {
  tensor, scalar, zeros, ones, full, zerosLike, onesLike, randn, rand, randint, arange, eye,
  type TensorLike, type RandomOptions,
} from './tensor/creation.js';
export * from './ops/reshape.js';
export * from './ops/matmul.js';
export * from './ops/elementwise.js';
export * from './ops/activation.js';
export * from './ops/softmax.js';
export * from './ops/reduce.js';
export * from './ops/layout.js';
export * from './ops/tensor_methods.js';
export { backendInfo, setNumThreads, setGemmBackend } from './ops/runtime.js';
