// The reference models of the CLI, the examples and the benchmarks.
import { layers, type Layer } from '../nn/keras_layers.js';
import { sequential, type Sequential } from './sequential.js';

/** MLP 784-128-10 (ReLU, softmax) on 28x28x1 images. */
export function mnistMlp(): Sequential {
  return sequential([
    layers.flatten({ inputShape: [28, 28, 1] }),
    layers.dense({ units: 128, activation: 'relu' }),
    layers.dense({ units: 10, activation: 'softmax' }),
  ]);
}

/** The classic Keras MNIST CNN (keras/examples mnist_cnn.py). */
export function mnistCnn(): Sequential {
  const l: Layer[] = [
    layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.dropout({ rate: 0.25 }),
    layers.flatten(),
    layers.dense({ units: 128, activation: 'relu' }),
    layers.dropout({ rate: 0.5 }),
    layers.dense({ units: 10, activation: 'softmax' }),
  ];
  return sequential(l);
}
