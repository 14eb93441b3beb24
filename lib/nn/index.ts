// tb.nn: PyTorch-style modules and functional API.
export { Module, parameter, isParameter, type StateDict } from './module.js';
export {
  Linear, Conv2d, MaxPool2d, AvgPool2d, Dropout, BatchNorm1d, BatchNorm2d, Flatten, Sequential,
  ReLU, Sigmoid, Tanh, GELU, ELU, LeakyReLU, Softplus, Softmax, LogSoftmax,
} from './torch_layers.js';
export { Embedding, RNN, LSTM, GRU, type RNNOptions } from './torch_recurrent.js';
export * as functional from './functional.js';
