// Every kernel, declared once for both devices. F is a float32 buffer and I an int32 buffer of the
// device: Float32Array / Int32Array on the CPU, DeviceBuffer on CUDA. Shapes, strides and dims are
// always host Int32Arrays. The CPU binding and the CUDA binding implement this interface (binding.ts),
// so their signatures cannot drift; the two backends (backend.ts) are built from it.
//
// Conventions:
// - Outputs are preallocated by the caller (lib/tensor); no kernel allocates.
// - Strides are element strides; 0 marks a broadcast axis. Arrays are row-major; "(N, C)" comments
//   give the logical shape of a flat buffer.
// - The bindings validate argument types, lengths and bounds and throw a JS Error naming the
//   function; they never abort the process. On CUDA, bad data only the device sees (a label or index
//   out of range) is reported by the next download()/synchronize(), naming the op that queued it.
// - The CPU's gemm, conv2d and linear run the instruction set the CPU binding picked (setIsa); after
//   setCpuBf16(true) under the avx512 set they round their operands to bf16 and sum in fp32 (linear's
//   zero-skipping products excepted). Neither touches the CUDA backend, whose products stay fp32
//   (or TF32 after setTf32).
// - An output buffer must not share memory with any other buffer of the call; only elementwise
//   kernels (unary, activation, axpy, cast, dropout, their backwards, binary/where without
//   broadcasting) accept an output that is exactly the same memory as an input (in place).

export interface Kernels<F, I> {
  // ---- gemm (native/cpu/gemm.cc, native/cuda/gemm.cu) ----
  /**
   * For b in [0, batch): C_b = alpha * op(A_b) @ op(B_b) + beta * C_b, row-major.
   * op(A_b) is (m, k): A_b is (m, k), or (k, m) when transA. op(B_b) is (k, n): B_b is (k, n), or
   * (n, k) when transB. C_b is (m, n). A_b starts at b * strideA (strideA may be 0 to reuse one A).
   */
  gemm(a: F, b: F, c: F, transA: boolean, transB: boolean, m: number, n: number, k: number,
       alpha: number, beta: number, batch: number, strideA: number, strideB: number, strideC: number): void;

  // ---- elementwise ----
  /** out = f(x) elementwise; p1/p2 are the op's scalar parameters (clip lo/hi, pow exponent). */
  unary(op: number, x: F, out: F, p1: number, p2: number): void;
  /** dx = dy * f'(x) (y = f(x) is passed for ops whose derivative is cheaper from the output). */
  unaryBackward(op: number, x: F, y: F, dy: F, dx: F, p1: number, p2: number): void;
  /** out = a (op) b with broadcasting: out has shape outShape; aStrides/bStrides are per-out-axis. */
  binary(op: number, a: F, aStrides: Int32Array, b: F, bStrides: Int32Array, out: F, outShape: Int32Array): void;
  /** da (a's own size) and db (b's own size) overwritten with the broadcast-reduced gradients; either may be null. */
  binaryBackward(op: number, a: F, aStrides: Int32Array, b: F, bStrides: Int32Array, dy: F, outShape: Int32Array,
                 da: F | null, db: F | null): void;
  /** out = cond != 0 ? a : b, all three broadcast to outShape. */
  where(cond: F, cStrides: Int32Array, a: F, aStrides: Int32Array, b: F, bStrides: Int32Array, out: F,
        outShape: Int32Array): void;
  /** da/db overwritten with the broadcast-reduced gradients of where(); either may be null. */
  whereBackward(cond: F, cStrides: Int32Array, dy: F, outShape: Int32Array, da: F | null, aStrides: Int32Array,
                db: F | null, bStrides: Int32Array): void;
  /** dst (its own size) = sum of src (shape srcShape) over axes where dstStrides is 0. */
  sumToStrides(src: F, srcShape: Int32Array, dst: F, dstStrides: Int32Array): void;

  // ---- buffer utilities ----
  /** out[i] = value for all i (either dtype). */
  fill(out: F | I, value: number): void;
  /** Casts between int32 and float32 (float→int truncates toward zero, NaN to 0, saturating). */
  cast(src: F | I, dst: F | I): void;
  /** y += alpha * x (accumulates gradients in place). */
  axpy(alpha: number, x: F, y: F): void;

  // ---- activations ----
  activation(op: number, x: F, y: F, alpha: number): void;
  activationBackward(op: number, x: F, y: F, dy: F, dx: F, alpha: number): void;

  // ---- softmax and the fused softmax-cross-entropy ----
  /** x, y are (outer, dim, inner); softmax (or log-softmax when log) along dim. */
  softmax(x: F, y: F, outer: number, dim: number, inner: number, log: boolean): void;
  softmaxBackward(y: F, dy: F, dx: F, outer: number, dim: number, inner: number, log: boolean): void;
  /**
   * logits (n, c). Exactly one of labels (n) / targets (n, c) is non-null. Writes probs (n, c) =
   * softmax(logits) and loss (n) = per-sample cross-entropy, with label smoothing eps (labels only;
   * target distribution (1-eps)*onehot + eps/c). A label outside [0, c) is an error.
   */
  softmaxXent(logits: F, n: number, c: number, labels: I | null, targets: F | null, smoothing: number,
              probs: F, loss: F): void;
  /** dlogits (n, c) = dloss[i] * (probs - target_i) (scaled by sum(target_i) for soft targets). */
  softmaxXentBackward(probs: F, n: number, c: number, labels: I | null, targets: F | null, smoothing: number,
                      dloss: F, dlogits: F): void;

  // ---- reductions ----
  /** x (outer, dim, inner) -> y (outer, inner). Sums accumulate in double. */
  reduce(op: number, x: F, y: F, outer: number, dim: number, inner: number): void;
  /** dx (outer, dim, inner) from dy (outer, inner); max/min route the gradient to the first extremum. */
  reduceBackward(op: number, x: F, y: F, dy: F, dx: F, outer: number, dim: number, inner: number): void;
  /** x (outer, dim, inner) -> out (outer, inner) indices of the first max/min along dim. */
  argReduce(op: number, x: F, out: I, outer: number, dim: number, inner: number): void;

  // ---- layout ----
  /**
   * dst[dstOffset + i·dstStrides] (=|+=) src[srcOffset + i·srcStrides] for every index i in shape.
   * Both buffers hold the same dtype. Serves permute, slice, concat, broadcastTo, pad and offset copies.
   */
  copyStrided(src: F | I, srcOffset: number, srcStrides: Int32Array, dst: F | I, dstOffset: number,
              dstStrides: Int32Array, shape: Int32Array, accumulate: boolean): void;
  /** x (outer, dim, inner), indices (nIdx) in [0, dim) -> y (outer, nIdx, inner); x/y of either dtype. */
  gather(x: F | I, indices: I, y: F | I, outer: number, dim: number, inner: number): void;
  /** dx (outer, dim, inner) overwritten: zero, then scatter-add of dy (outer, nIdx, inner). */
  gatherBackward(dy: F, indices: I, dx: F, outer: number, dim: number, inner: number): void;
  /** out (n, depth): on at [i, indices[i]], off elsewhere; an index outside [0, depth) is an error. */
  oneHot(indices: I, out: F, depth: number, on: number, off: number): void;

  // ---- recurrent layers (native/cpu/rnn.cc, native/cuda/rnn.cu) and the embedding gradient ----
  // dims (12): [T, B, F, H, cell (0 rnn, 1 lstm, 2 gru), batchFirst, reverse, transW, act, recAct,
  // resetAfter, kerasGru] (native/common/rnn.h). Rows of x (T·B, F) and y (T·B, H) are t·B + b, or
  // b·T + t when batchFirst. wx (F, G·H) and wh (H, G·H), or (G·H, F) and (G·H, H) when transW;
  // G = 1, 4, 3 gate blocks; activation codes 0 tanh, 1 sigmoid, 2 hardSigmoid, 3 relu, 4 linear.
  // ws and scratch hold rnnWorkspaceSizes(dims) floats (backend.ts); their layout is the same on
  // every device.
  /**
   * One layer, one direction, the whole sequence. bx, bh (G·H), h0, c0, rmask (B, H) may be null
   * (c0 and cN only for LSTM). Writes y, hN, cN and ws (kept for rnnBackward).
   */
  rnnForward(x: F, wx: F, wh: F, bx: F | null, bh: F | null, h0: F | null, c0: F | null, rmask: F | null, y: F, hN: F,
             cN: F | null, ws: F, dims: Int32Array): void;
  /** Backward through time from dy (T·B, H), dhN, dcN (each null when unused); non-null gradients are overwritten. */
  rnnBackward(x: F, wx: F, wh: F, c0: F | null, rmask: F | null, ws: F, dy: F | null, dhN: F | null, dcN: F | null,
              dx: F | null, dwx: F | null, dwh: F | null, dbx: F | null, dbh: F | null, dh0: F | null, dc0: F | null,
              scratch: F, dims: Int32Array): void;
  /**
   * dw (numEmbeddings, dim) = per row, the sum of the dy (nIdx, dim) rows whose index names it (a
   * gather: repeatable bits); row paddingIdx (-1: none) gets zero; an index outside [0,
   * numEmbeddings) is an error. ws: int32, numEmbeddings + 1 + nIdx elements.
   */
  embeddingBackward(dy: F, indices: I, dw: F, numEmbeddings: number, dim: number, paddingIdx: number, ws: I): void;

  // ---- conv2d ----
  // layout 0 = NCHW with weight (OC, C, KH, KW) (PyTorch); layout 1 = NHWC with weight (KH, KW, C, OC)
  // (Keras/TensorFlow.js). x is (N, C, H, W) or (N, H, W, C); y is (N, OC, OH, OW) or (N, OH, OW, OC).
  // dims (14): [n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, layout]
  // (dilation 1). Padding reads zeros. bias (OC) may be null. act: 0 none, 1 ReLU on the output.
  conv2d(x: F, weight: F, bias: F | null, y: F, dims: Int32Array, act: number): void;
  /**
   * Gradients; any of dx, dweight, dbias may be null, the others are overwritten. With act 1 (ReLU
   * fused in the forward), y is that forward's output and dy is the gradient of y.
   */
  conv2dBackward(x: F, weight: F, dy: F, dx: F | null, dweight: F | null, dbias: F | null, dims: Int32Array,
                 y: F | null, act: number): void;

  // ---- dense layer ----
  /** y (m, n) = act(x (m, k) @ W + b): W is (k, n), or (n, k) when transW; b (n) may be null; act 0 none, 1 ReLU. */
  linear(x: F, w: F, b: F | null, y: F, m: number, n: number, k: number, transW: boolean, act: number): void;
  /** Gradients of linear(); any of dx, dw, db may be null. With act 1, y is the forward's output. */
  linearBackward(x: F, w: F, dy: F, y: F | null, dx: F | null, dw: F | null, db: F | null,
                 m: number, n: number, k: number, transW: boolean, act: number): void;

  // ---- pooling ----
  // dims (13): [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)].
  // Max pooling records the flat input index of each max in argmax.
  maxPool2d(x: F, y: F, argmax: I, dims: Int32Array): void;
  maxPool2dBackward(dy: F, argmax: I, dx: F, dims: Int32Array): void;
  /** Average over the window cells inside the input (padding excluded from the count). */
  avgPool2d(x: F, y: F, dims: Int32Array): void;
  avgPool2dBackward(dy: F, dx: F, dims: Int32Array): void;

  // ---- dropout ----
  /**
   * Inverted dropout: mask[i] = 0 with probability rate, else 1/(1-rate); y = x * mask. The draw is a
   * counter-based hash of (seed, i): one seed gives the same mask on every thread count and device.
   */
  dropout(x: F, y: F, mask: F, rate: number, seed: number): void;
  /** dx = dy * mask. */
  dropoutBackward(dy: F, mask: F, dx: F): void;

  // ---- batch normalization: x, y are (outer, C, inner) ----
  /**
   * training: batch statistics (double), writes mean/invstd (C) and updates the running stats
   * (unbiased variance, PyTorch's momentum). Eval: the running stats (mean/invstd still written).
   */
  batchNorm(x: F, gamma: F | null, beta: F | null, y: F, mean: F, invstd: F, runningMean: F, runningVar: F,
            outer: number, c: number, inner: number, momentum: number, eps: number, training: boolean): void;
  /** Training-mode gradients (dx through the batch statistics); dx/dgamma/dbeta may be null. */
  batchNormBackward(x: F, gamma: F | null, mean: F, invstd: F, dy: F, dx: F | null, dgamma: F | null,
                    dbeta: F | null, outer: number, c: number, inner: number): void;

  // ---- optimizer updates, one fused pass per parameter ----
  /** PyTorch SGD: g = grad + wd*p; buf = momentum*buf + (1-dampening)*g (buf = g on first step); nesterov: g += momentum*buf else g = buf; p -= lr*g. */
  sgdStep(param: F, grad: F, momentumBuf: F | null, lr: number, momentum: number, dampening: number,
          weightDecay: number, nesterov: boolean, firstStep: boolean): void;
  /** Adam / AdamW (decoupled weight decay) with bias correction for step t >= 1; vmax non-null = AMSGrad. */
  adamStep(param: F, grad: F, m: F, v: F, vmax: F | null, lr: number, beta1: number, beta2: number, eps: number,
           weightDecay: number, decoupled: boolean, step: number): void;
  /** PyTorch RMSprop; epsInSqrt: sqrt(sq + eps) (Keras) instead of sqrt(sq) + eps. */
  rmspropStep(param: F, grad: F, sq: F, momBuf: F | null, gradAvg: F | null, lr: number, alpha: number, eps: number,
              weightDecay: number, momentum: number, epsInSqrt: boolean): void;
  /** PyTorch Adagrad; epsInSqrt: sqrt(sum + eps) (Keras). */
  adagradStep(param: F, grad: F, sum: F, lr: number, lrDecay: number, weightDecay: number, eps: number, step: number,
              epsInSqrt: boolean): void;
  /** Adadelta: sq = rho*sq + (1-rho)*g²; d = sqrt(acc+eps)/sqrt(sq+eps)*g; acc = rho*acc + (1-rho)*d²; p -= lr*d. */
  adadeltaStep(param: F, grad: F, sq: F, acc: F, lr: number, rho: number, eps: number, weightDecay: number): void;
  /** Sum of squares, accumulated in double (waits for the device). */
  sumSquares(x: F): number;
  /** x *= alpha in place. */
  scale(x: F, alpha: number): void;
}

/** Every kernel's name: what the loader checks each backend's exports against. */
export const KERNEL_NAMES = [
  'gemm', 'unary', 'unaryBackward', 'binary', 'binaryBackward', 'where', 'whereBackward', 'sumToStrides',
  'fill', 'cast', 'axpy', 'activation', 'activationBackward', 'softmax', 'softmaxBackward', 'softmaxXent',
  'softmaxXentBackward', 'reduce', 'reduceBackward', 'argReduce', 'copyStrided', 'gather', 'gatherBackward',
  'oneHot', 'rnnForward', 'rnnBackward', 'embeddingBackward', 'conv2d', 'conv2dBackward', 'linear', 'linearBackward',
  'maxPool2d', 'maxPool2dBackward', 'avgPool2d', 'avgPool2dBackward', 'dropout', 'dropoutBackward', 'batchNorm',
  'batchNormBackward', 'sgdStep', 'adamStep', 'rmspropStep', 'adagradStep', 'adadeltaStep', 'sumSquares', 'scale',
] as const satisfies readonly (keyof Kernels<unknown, unknown>)[];

export type KernelName = (typeof KERNEL_NAMES)[number];
// The list above must name every kernel of the interface: a kernel added there and not here fails to compile.
type Unlisted = Exclude<keyof Kernels<unknown, unknown>, KernelName>;
const everyKernelListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyKernelListed;
