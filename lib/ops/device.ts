// Tensor.to(device): moving a tensor between devices. Only 'cpu' holds tensors in this version; 'cuda'
// throws a TensorboltError saying how to build the CUDA addon, or, when it is built and a GPU is
// visible, that device tensors are not wired in yet (lib/tensor/device.ts).
import { resolveDevice, type DeviceName } from '../tensor/device.js';
import { Tensor } from '../tensor/tensor.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** This tensor on `device` ('cpu' returns it as it is, as PyTorch does). */
    to(device: DeviceName): Tensor;
  }
}

Tensor.prototype.to = function (this: Tensor, device: DeviceName): Tensor {
  resolveDevice('Tensor.to', device);
  return this;
};
