// Tensor.to(device): a copy on another device, recorded for autograd (the gradient flows back to
// the source device), PyTorch's semantics: the same device returns the tensor itself.
import { record } from '../tensor/autograd.js';
import { backendFor, type DeviceName } from '../tensor/device.js';
import { Tensor, copyTo } from '../tensor/tensor.js';
import { tensorArg } from './util.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** This tensor on `device`: itself when it is there already, else a copy that gradients flow back through. */
    to(device: DeviceName | 'cuda:0'): Tensor;
  }
}

/** x on `device` (x itself when already there); differentiable. */
export function to(x: Tensor, device: DeviceName | 'cuda:0'): Tensor {
  const op = 'Tensor.to';
  tensorArg(op, x);
  const be = backendFor(op, device);
  if (be === x._be) return x;
  const src = x._be;
  const out = copyTo(x, be, op);
  return record(op, out, [x], (dy) => [copyTo(dy, src, op)]);
}

Tensor.prototype.to = function (this: Tensor, device: DeviceName | 'cuda:0'): Tensor {
  return to(this, device);
};
