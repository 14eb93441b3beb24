// tb.nn: PyTorch-style modules and functional API.
export { Module, parameter, isParameter, type StateDict } from './module.js';
export {
  Linear, Conv2d, type Conv2dOptions, MaxPool2d, AvgPool2d, Dropout, BatchNorm1d, BatchNorm2d, Flatten, Sequential,
  ReLU, Sigmoid, Tanh, GELU, ELU, LeakyReLU, Softplus, Softmax, LogSoftmax,
} from './torch_layers.js';
export { Embedding, RNN, LSTM, GRU, type RNNOptions } from './torch_recurrent.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss } from './losses.js';
export * as functional from './functional.js';
export { DistributedDataParallel, type DDPOptions } from '../distributed/ddp.js';
