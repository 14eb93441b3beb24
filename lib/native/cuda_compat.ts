// The CUDA twins that the current CUDA binding lacks (the fused dense layer and conv2d's fused ReLU),
// composed from CUDA kernels it has, with the CPU kernels' signatures and results. An addon built
// after native/napi's one-binding-per-kernel rewrite exports `linear` (and conv2d takes `act`): then
// its own kernels are used and nothing here runs. This file goes away once every CUDA build has them.
import type { CudaBinding, DeviceBuffer } from './binding.js';
import type { Kernels } from './kernels.js';
import { ActivationOp, ReduceOp } from './opcodes.js';

type D = DeviceBuffer;
type Composed = Pick<Kernels<D, D>, 'linear' | 'linearBackward' | 'conv2d' | 'conv2dBackward'>;

const RELU = ActivationOp.relu;

/** dy masked by the ReLU of y (the forward's output) into fresh memory the caller frees. */
function reluGrad(c: CudaBinding, y: D, dy: D): D {
  const g = c.alloc(dy.length, 'float32');
  c.activationBackward(RELU, y, y, dy, g, 0);
  return g;
}

export function cudaComposedKernels(c: CudaBinding): Composed {
  const { linear, linearBackward } = c;
  if (linear && linearBackward)
    return { linear, linearBackward, conv2d: c.conv2d as Composed['conv2d'], conv2dBackward: c.conv2dBackward as Composed['conv2dBackward'] };
  return {
    // y (m, n) = act(x (m, k) @ W + b): the bias broadcast into y, then one GEMM accumulating onto it.
    linear(x, w, b, y, m, n, k, transW, act) {
      if (m === 0 || n === 0) return;
      if (b) c.copyStrided(b, 0, Int32Array.of(0, 1), y, 0, Int32Array.of(n, 1), Int32Array.of(m, n), false);
      c.gemm(x, w, y, false, transW, m, n, k, 1, b ? 1 : 0, 1, 0, 0, 0);
      if (act) c.activation(RELU, y, y, 0);
    },
    linearBackward(x, w, dy, y, dx, dw, db, m, n, k, transW, act) {
      const g = act ? reluGrad(c, y!, dy) : dy;
      try {
        // dx (m, k) = g @ op(W)ᵀ; dW = xᵀ g (k, n), or gᵀ x (n, k) when W is stored (n, k).
        if (dx) c.gemm(g, w, dx, false, !transW, m, k, n, 1, 0, 1, 0, 0, 0);
        if (dw) {
          if (transW) c.gemm(g, x, dw, true, false, n, k, m, 1, 0, 1, 0, 0, 0);
          else c.gemm(x, g, dw, true, false, k, n, m, 1, 0, 1, 0, 0, 0);
        }
        if (db) c.reduce(ReduceOp.sum, g, db, 1, m, n);
      } finally {
        if (g !== dy) c.free(g);
      }
    },
    conv2d(x, weight, bias, y, dims, act) {
      c.conv2d(x, weight, bias, y, dims);
      if (act) c.activation(RELU, y, y, 0);
    },
    conv2dBackward(x, weight, dy, dx, dweight, dbias, dims, y, act) {
      const g = act ? reluGrad(c, y!, dy) : dy;
      try {
        c.conv2dBackward(x, weight, g, dx, dweight, dbias, dims);
      } finally {
        if (g !== dy) c.free(g);
      }
    },
  };
}
