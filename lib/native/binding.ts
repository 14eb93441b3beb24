// The native addon's complete surface, typed. This is the only declaration of what the .node file
// exports; every native function lives here (node-llama-cpp's AddonTypes.ts, onnxruntime's binding.ts).
//
// Conventions:
// - Every buffer is a typed array whose memory the kernel reads or writes in place; outputs are
//   preallocated by the caller (lib/tensor), so no native call allocates JS memory.
// - Shapes and strides are Int32Array (element strides; 0 marks a broadcast axis).
// - All arrays are row-major. "(N, C)" comments give the logical shape of a flat buffer.
// - The addon validates argument types, lengths and bounds and throws a JS Error naming the
//   function; it never aborts the process.
// - An output buffer must not share memory with any other buffer of the call; only elementwise
//   kernels (unary, activation, axpy, cast, dropout, their backwards, binary/where without
//   broadcasting) accept an output that is exactly the same memory as an input (in place).
//   Shapes, strides and dims arrays are copied before the kernel runs and may overlap anything.

export type F32 = Float32Array;
export type I32 = Int32Array;

export interface NativeInfo {
  /** GEMM implementation in use now: OpenBLAS, or our portable blocked kernel. */
  gemm: 'openblas' | 'portable';
  /** Whether the addon was linked against OpenBLAS at build time. */
  openblas: boolean;
  openblasConfig: string;
  /** Threads our own loops use (OpenMP), 1 when built without OpenMP. */
  threads: number;
  openmp: boolean;
  compiler: string;
}

export interface NativeBinding {
  /**
   * The CUDA backend: present only in an addon built with `npm run build:cuda` (compiled with
   * TENSORBOLT_CUDA). See CudaBinding.
   */
  cuda?: CudaBinding;

  // ---- runtime (native/napi/runtime_napi.cc) ----
  info(): NativeInfo;
  /** Switches GEMM between OpenBLAS and the portable kernel (throws if OpenBLAS was not linked). */
  setGemmBackend(name: 'openblas' | 'portable'): void;
  /** Threads of our OpenMP team; GEMMs are split over it with OpenBLAS single-threaded inside (one pool). */
  setNumThreads(n: number): void;

  // ---- gemm (native/cpu/gemm.cc) ----
  /**
   * For b in [0, batch): C_b = alpha * op(A_b) @ op(B_b) + beta * C_b, row-major.
   * op(A_b) is (m, k): A_b is (m, k), or (k, m) when transA. op(B_b) is (k, n): B_b is (k, n), or
   * (n, k) when transB. C_b is (m, n). A_b starts at b * strideA (strideA may be 0 to reuse one A).
   */
  gemm(a: F32, b: F32, c: F32, transA: boolean, transB: boolean, m: number, n: number, k: number,
       alpha: number, beta: number, batch: number, strideA: number, strideB: number, strideC: number): void;

  // ---- elementwise (native/cpu/elementwise.cc) ----
  /** out = f(x) elementwise; p1/p2 are the op's scalar parameters (clip lo/hi, pow exponent). */
  unary(op: number, x: F32, out: F32, p1: number, p2: number): void;
  /** dx = dy * f'(x) (y = f(x) is passed for ops whose derivative is cheaper from the output). */
  unaryBackward(op: number, x: F32, y: F32, dy: F32, dx: F32, p1: number, p2: number): void;
  /** out = a (op) b with broadcasting: out has shape outShape; aStrides/bStrides are per-out-axis. */
  binary(op: number, a: F32, aStrides: I32, b: F32, bStrides: I32, out: F32, outShape: I32): void;
  /**
   * Gradients of binary(): da (a's own size) and db (b's own size) are overwritten with the
   * broadcast-reduced gradients. Either may be null when not needed.
   */
  binaryBackward(op: number, a: F32, aStrides: I32, b: F32, bStrides: I32, dy: F32, outShape: I32,
                 da: F32 | null, db: F32 | null): void;
  /** out = cond != 0 ? a : b, all three broadcast to outShape. */
  where(cond: F32, cStrides: I32, a: F32, aStrides: I32, b: F32, bStrides: I32, out: F32, outShape: I32): void;
  /** da/db overwritten with the broadcast-reduced gradients of where(); either may be null. */
  whereBackward(cond: F32, cStrides: I32, dy: F32, outShape: I32,
                da: F32 | null, aStrides: I32, db: F32 | null, bStrides: I32): void;
  /** dst (its own size) = sum of src (shape srcShape) over axes where dstStrides is 0. */
  sumToStrides(src: F32, srcShape: I32, dst: F32, dstStrides: I32): void;
  // ---- buffer utilities (native/cpu/memory.cc) ----
  /** out[i] = value for all i. Works for Int32Array too. */
  fill(out: F32 | I32, value: number): void;
  /** Casts between int32 and float32 (float→int truncates toward zero, like tf.cast). */
  cast(src: F32 | I32, dst: F32 | I32): void;
  /** y += alpha * x (used to accumulate gradients in place). */
  axpy(alpha: number, x: F32, y: F32): void;

  // ---- activations (native/cpu/activation.cc) ----
  activation(op: number, x: F32, y: F32, alpha: number): void;
  activationBackward(op: number, x: F32, y: F32, dy: F32, dx: F32, alpha: number): void;

  // ---- softmax and the fused softmax-cross-entropy (native/cpu/softmax_xent.cc) ----
  /** x, y are (outer, dim, inner); softmax (or log-softmax when log) along dim. */
  softmax(x: F32, y: F32, outer: number, dim: number, inner: number, log: boolean): void;
  softmaxBackward(y: F32, dy: F32, dx: F32, outer: number, dim: number, inner: number, log: boolean): void;
  /**
   * logits (n, c). Exactly one of labels (n) / targets (n, c) is non-null. Writes probs (n, c) =
   * softmax(logits) and loss (n) = per-sample cross-entropy, with label smoothing eps (labels only;
   * target distribution (1-eps)*onehot + eps/c). Throws on a label outside [0, c).
   */
  softmaxXent(logits: F32, n: number, c: number, labels: I32 | null, targets: F32 | null,
              smoothing: number, probs: F32, loss: F32): void;
  /** dlogits (n, c) = dloss[i] * (probs - target_i) (scaled by sum(target_i) for soft targets). */
  softmaxXentBackward(probs: F32, n: number, c: number, labels: I32 | null, targets: F32 | null,
                      smoothing: number, dloss: F32, dlogits: F32): void;

  // ---- reductions (native/cpu/reduce.cc) ----
  /** x (outer, dim, inner) -> y (outer, inner). */
  reduce(op: number, x: F32, y: F32, outer: number, dim: number, inner: number): void;
  /** dx (outer, dim, inner) from dy (outer, inner); max/min route the gradient to the first extremum. */
  reduceBackward(op: number, x: F32, y: F32, dy: F32, dx: F32, outer: number, dim: number, inner: number): void;
  /** x (outer, dim, inner) -> out (outer, inner) indices of the first max/min along dim. */
  argReduce(op: number, x: F32, out: I32, outer: number, dim: number, inner: number): void;

  // ---- layout (native/cpu/layout.cc) ----
  /**
   * dst[dstOffset + i·dstStrides] (=|+=) src[srcOffset + i·srcStrides] for every index i in shape.
   * Both arrays must hold 4-byte elements of the same kind (F32/F32 or I32/I32).
   * Serves permute, slice and its gradient, concat and its gradient, broadcastTo.
   */
  copyStrided(src: F32 | I32, srcOffset: number, srcStrides: I32, dst: F32 | I32, dstOffset: number,
              dstStrides: I32, shape: I32, accumulate: boolean): void;
  /** x (outer, dim, inner), indices (nIdx) in [0, dim) -> y (outer, nIdx, inner). Works for I32 x/y. */
  gather(x: F32 | I32, indices: I32, y: F32 | I32, outer: number, dim: number, inner: number): void;
  /**
   * Rows `indices` of xa (dim, innerA) into ya (nIdx, innerA) and of xb (dim, innerB) into yb, on a
   * worker thread; every argument is checked before the work is queued, and the arrays must stay
   * unchanged until the promise settles.
   */
  gatherPairAsync(xa: F32 | I32, ya: F32 | I32, innerA: number, xb: F32 | I32, yb: F32 | I32, innerB: number,
                  indices: I32, dim: number): Promise<void>;
  /** dx (outer, dim, inner) overwritten: zero, then scatter-add of dy (outer, nIdx, inner). */
  gatherBackward(dy: F32, indices: I32, dx: F32, outer: number, dim: number, inner: number): void;
  /** out (n, depth): on at [i, indices[i]], off elsewhere; throws on an index outside [0, depth). */
  oneHot(indices: I32, out: F32, depth: number, on: number, off: number): void;

  // ---- recurrent layers (native/cpu/rnn.cc) and the embedding gradient (native/cpu/embedding.cc) ----
  // dims (Int32Array, 12): [T, B, F, H, cell (0 rnn, 1 lstm, 2 gru), batchFirst, reverse, transW,
  // act, recAct, resetAfter, kerasGru] (native/common/rnn.h). Rows of x (T·B, F) and y (T·B, H) are
  // t·B + b, or b·T + t when batchFirst. wx (F, G·H) and wh (H, G·H), or (G·H, F) and (G·H, H)
  // when transW; G = 1, 4, 3 gate blocks; activation codes 0 tanh, 1 sigmoid, 2 hardSigmoid,
  // 3 relu, 4 linear.
  /** [workspace, scratch] float counts: the forward pass's saved buffer and the backward's scratch. */
  rnnSizes(dims: I32): [number, number];
  /**
   * One layer, one direction, the whole sequence. bx, bh (G·H), h0, c0, rmask (B, H) may be null
   * (c0 and cN only for LSTM). Writes y, hN, cN and ws (kept for rnnBackward).
   */
  rnnForward(x: F32, wx: F32, wh: F32, bx: F32 | null, bh: F32 | null, h0: F32 | null, c0: F32 | null,
             rmask: F32 | null, y: F32, hN: F32, cN: F32 | null, ws: F32, dims: I32): void;
  /** Backward through time from dy (T·B, H), dhN, dcN (each null when unused); non-null gradients are overwritten. */
  rnnBackward(x: F32, wx: F32, wh: F32, c0: F32 | null, rmask: F32 | null, ws: F32, dy: F32 | null, dhN: F32 | null,
              dcN: F32 | null, dx: F32 | null, dwx: F32 | null, dwh: F32 | null, dbx: F32 | null, dbh: F32 | null,
              dh0: F32 | null, dc0: F32 | null, scratch: F32, dims: I32): void;
  /**
   * dw (numEmbeddings, dim) = per row, the sum of the dy (nIdx, dim) rows whose index names it (a
   * gather: repeatable bits); row paddingIdx (-1: none) gets zero. ws: Int32Array of numEmbeddings + 1 + nIdx.
   */
  embeddingBackward(dy: F32, indices: I32, dw: F32, numEmbeddings: number, dim: number, paddingIdx: number, ws: I32): void;

  // ---- conv2d by im2col + GEMM (native/cpu/conv2d.cc) ----
  // layout 0 = NCHW with weight (OC, C, KH, KW) (PyTorch); layout 1 = NHWC with weight (KH, KW, C, OC)
  // (Keras/TensorFlow.js). x is (N, C, H, W) or (N, H, W, C); y is (N, OC, OH, OW) or (N, OH, OW, OC).
  // dims (Int32Array, 14): [n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, layout]
  // (dilation 1). Padding beyond the input reads zeros. bias (OC) may be null. act: 0 none, 1 ReLU
  // applied to the output in the same pass.
  conv2d(x: F32, weight: F32, bias: F32 | null, y: F32, dims: I32, act: number): void;
  /**
   * Gradients; any of dx, dweight, dbias may be null. dx/dweight/dbias are overwritten. With act 1
   * (ReLU fused in the forward), y is that forward's output and dy is the gradient of y.
   */
  conv2dBackward(x: F32, weight: F32, dy: F32, dx: F32 | null, dweight: F32 | null, dbias: F32 | null, dims: I32,
                 y: F32 | null, act: number): void;

  // ---- dense layer (native/cpu/linear.cc) ----
  /**
   * y (m, n) = act(x (m, k) @ W + b): W is (k, n), or (n, k) when transW; b (n) may be null;
   * act 0 none, 1 ReLU. One GEMM and one pass over y.
   */
  linear(x: F32, w: F32, b: F32 | null, y: F32, m: number, n: number, k: number, transW: boolean, act: number): void;
  /**
   * Gradients of linear(); any of dx, dw, db may be null, the others are overwritten. With act 1,
   * y is the forward's output (dy counts where y > 0); otherwise y may be null.
   */
  linearBackward(x: F32, w: F32, dy: F32, y: F32 | null, dx: F32 | null, dw: F32 | null, db: F32 | null,
                 m: number, n: number, k: number, transW: boolean, act: number): void;

  // ---- pooling (native/cpu/pool2d.cc) ----
  // dims (Int32Array, 12): [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft] + layout
  // as a 13th entry (0 NCHW, 1 NHWC). Max pooling records the flat input index of each max in argmax.
  maxPool2d(x: F32, y: F32, argmax: I32, dims: I32): void;
  maxPool2dBackward(dy: F32, argmax: I32, dx: F32, dims: I32): void;
  /** Average over the window cells inside the input (padding excluded from the count, as Keras 'same'). */
  avgPool2d(x: F32, y: F32, dims: I32): void;
  avgPool2dBackward(dy: F32, dx: F32, dims: I32): void;

  // ---- dropout (native/cpu/dropout.cc) ----
  /**
   * Inverted dropout: mask[i] = 0 with probability rate, else 1/(1-rate); y = x * mask. The draw is a
   * counter-based hash of (seed, i), so a seed gives the same mask on any thread count. rate in
   * [0, 1); seed any safe integer (negative seeds are read as their 64-bit two's complement).
   */
  dropout(x: F32, y: F32, mask: F32, rate: number, seed: number): void;
  /** dx = dy * mask (all the same length). */
  dropoutBackward(dy: F32, mask: F32, dx: F32): void;

  // ---- batch normalization (native/cpu/batchnorm.cc) ----
  // x, y are (outer, C, inner): NCHW gives outer=N, inner=H*W; NHWC or (N, C) gives inner=1.
  /**
   * training: batch statistics, writes mean/invstd (C) for backward and updates running stats
   * (runningMean = (1-momentum)*runningMean + momentum*mean; runningVar with the unbiased variance,
   * PyTorch's convention). Eval: uses the running stats (mean/invstd outputs still written).
   * Statistics are accumulated in double, bit-identical on any thread count. Throws when training
   * with outer*inner = 1, on momentum outside [0, 1], eps <= 0, or (eval) runningVar + eps <= 0.
   */
  batchNorm(x: F32, gamma: F32 | null, beta: F32 | null, y: F32, mean: F32, invstd: F32,
            runningMean: F32, runningVar: F32, outer: number, c: number, inner: number,
            momentum: number, eps: number, training: boolean): void;
  /** Training-mode gradients (dx through the batch statistics); dx/dgamma/dbeta may be null. */
  batchNormBackward(x: F32, gamma: F32 | null, mean: F32, invstd: F32, dy: F32, dx: F32 | null,
                    dgamma: F32 | null, dbeta: F32 | null, outer: number, c: number, inner: number): void;

  // ---- optimizer updates, one fused pass per parameter (native/cpu/optim.cc) ----
  /** PyTorch SGD: g = grad + wd*p; buf = momentum*buf + (1-dampening)*g (buf = g on first step); nesterov: g += momentum*buf else g = buf; p -= lr*g. */
  sgdStep(param: F32, grad: F32, momentumBuf: F32 | null, lr: number, momentum: number, dampening: number,
          weightDecay: number, nesterov: boolean, firstStep: boolean): void;
  /** Adam / AdamW (decoupled weight decay) with bias correction for step t >= 1; vmax non-null = AMSGrad. */
  adamStep(param: F32, grad: F32, m: F32, v: F32, vmax: F32 | null, lr: number, beta1: number, beta2: number,
           eps: number, weightDecay: number, decoupled: boolean, step: number): void;
  /**
   * PyTorch RMSprop: sq = alpha*sq + (1-alpha)*g²; centered uses gradAvg; momentum uses momBuf.
   * epsInSqrt: denominator sqrt(sq + eps) (Keras/TensorFlow) instead of sqrt(sq) + eps (PyTorch).
   */
  rmspropStep(param: F32, grad: F32, sq: F32, momBuf: F32 | null, gradAvg: F32 | null, lr: number, alpha: number,
              eps: number, weightDecay: number, momentum: number, epsInSqrt: boolean): void;
  /**
   * PyTorch Adagrad: sum += g²; p -= clr * g / (sqrt(sum) + eps), clr = lr / (1 + (step-1)*lrDecay).
   * epsInSqrt: denominator sqrt(sum + eps) (Keras/TensorFlow).
   */
  adagradStep(param: F32, grad: F32, sum: F32, lr: number, lrDecay: number, weightDecay: number, eps: number,
              step: number, epsInSqrt: boolean): void;
  /** Adadelta: sq = rho*sq + (1-rho)*g²; d = sqrt(acc+eps)/sqrt(sq+eps)*g; acc = rho*acc + (1-rho)*d²; p -= lr*d. */
  adadeltaStep(param: F32, grad: F32, sq: F32, acc: F32, lr: number, rho: number, eps: number, weightDecay: number): void;
  /** Sum of squares (for gradient clipping by global norm), accumulated in double. */
  sumSquares(x: F32): number;
  /** x *= alpha in place. */
  scale(x: F32, alpha: number): void;
}

// ---------------------------------------------------------------------------------------------
// The CUDA backend (native/cuda/ kernels), under `cuda` on the addon.
//
// Conventions beyond the CPU binding's:
// - Every CPU kernel has a CUDA twin of the same name: one binding (native/napi/<family>_napi.cc)
//   serves both devices, so the twin takes the same arguments in the same order, with the same
//   meaning and the same checks. Data lives in device buffers (DeviceBuffer, from alloc() or view())
//   where the CPU function takes a Float32Array/Int32Array; shapes, strides and dims stay host
//   Int32Arrays. Only the host's own tools have no twin: setGemmBackend, setNumThreads and
//   gatherPairAsync (fit's batch gather from host memory); info() differs (CudaDeviceInfo).
// - Error messages name the function as "tensorbolt.cuda.<name>: ".
// - Work is queued on one stream and runs asynchronously; download() and synchronize() wait. A
//   kernel that fails while running, or that finds bad data (a label or index out of range), is
//   reported by the next download()/synchronize(), naming the op that queued it.
// - Errors carry a `code`: ERR_TENSORBOLT_CUDA_OOM, _LAUNCH, _CUBLAS, _DEVICE; bad data and bad
//   arguments are RangeError/TypeError as on the CPU.
// ---------------------------------------------------------------------------------------------

/**
 * Device memory for `length` float32 or int32 elements, or a view of part of another buffer's (same
 * memory). Opaque: only the binding reads it.
 */
export interface DeviceBuffer {
  readonly length: number;
  readonly dtype: 'float32' | 'int32';
}
type D = DeviceBuffer;

export interface CudaDeviceInfo {
  name: string;
  /** e.g. "9.0" for an H100. */
  computeCapability: string;
  totalMemory: number;
  freeMemory: number;
  multiprocessors: number;
  /** 1000 * major + 10 * minor (13000 = CUDA 13.0). */
  runtimeVersion: number;
  driverVersion: number;
  /** 10000 * major + 100 * minor + patch; 0 when unknown. */
  cublasVersion: number;
  /** Whether GEMMs (and convolutions) use TF32 tensor-core math. */
  tf32: boolean;
}

export interface CudaMemoryInfo {
  /** Bytes in buffers handed out (rounded to the allocator's block sizes). */
  inUse: number;
  /** Bytes in freed blocks kept for reuse. */
  cached: number;
  peakInUse: number;
  deviceMallocs: number;
  cacheHits: number;
}

export interface CudaBinding {
  // ---- runtime and allocator (native/napi/cuda/runtime_cuda_napi.cc) ----
  /** Visible devices; never throws. reason says why when count is 0. */
  deviceCount(): { count: number; reason: string };
  info(): CudaDeviceInfo;
  /** Uninitialized device memory (from the caching allocator). */
  alloc(length: number, dtype: 'float32' | 'int32'): DeviceBuffer;
  /**
   * Gives up the handle now; it is unusable afterwards. Idempotent. The memory goes back to the cache
   * when the buffer and every view of it are freed (or collected).
   */
  free(buffer: DeviceBuffer): void;
  /**
   * Elements [offset, offset + length) of buffer as a buffer of their own (same dtype), sharing its
   * memory; the memory stays allocated while the view lives, and freeing the view frees only the view.
   */
  view(buffer: D, offset: number, length: number): DeviceBuffer;
  /** dst[dstOffset ..] = src (same dtype). Queued; src may be reused at once. */
  upload(dst: D, src: F32 | I32, dstOffset: number): void;
  /** dst = src[srcOffset .. + dst.length). Waits for all queued work and reports its failures. */
  download(src: D, dst: F32 | I32, srcOffset: number): void;
  /** dst[dstOffset .. + length) = src[srcOffset .. + length), same dtype, queued; the ranges must not partly overlap. */
  copy(src: D, srcOffset: number, dst: D, dstOffset: number, length: number): void;
  synchronize(): void;
  memory(): CudaMemoryInfo;
  /** Gives cached blocks back to the driver. */
  emptyCache(): void;
  /** TF32 tensor-core math for later GEMMs and convolutions (false: full FP32, the default). */
  setTf32(on: boolean): void;

  // ---- kernels: the CPU functions above, over device buffers ----
  gemm(a: D, b: D, c: D, transA: boolean, transB: boolean, m: number, n: number, k: number,
       alpha: number, beta: number, batch: number, strideA: number, strideB: number, strideC: number): void;
  unary(op: number, x: D, out: D, p1: number, p2: number): void;
  unaryBackward(op: number, x: D, y: D, dy: D, dx: D, p1: number, p2: number): void;
  binary(op: number, a: D, aStrides: I32, b: D, bStrides: I32, out: D, outShape: I32): void;
  binaryBackward(op: number, a: D, aStrides: I32, b: D, bStrides: I32, dy: D, outShape: I32,
                 da: D | null, db: D | null): void;
  where(cond: D, cStrides: I32, a: D, aStrides: I32, b: D, bStrides: I32, out: D, outShape: I32): void;
  whereBackward(cond: D, cStrides: I32, dy: D, outShape: I32, da: D | null, aStrides: I32, db: D | null,
                bStrides: I32): void;
  sumToStrides(src: D, srcShape: I32, dst: D, dstStrides: I32): void;
  fill(out: D, value: number): void;
  cast(src: D, dst: D): void;
  axpy(alpha: number, x: D, y: D): void;
  activation(op: number, x: D, y: D, alpha: number): void;
  activationBackward(op: number, x: D, y: D, dy: D, dx: D, alpha: number): void;
  softmax(x: D, y: D, outer: number, dim: number, inner: number, log: boolean): void;
  softmaxBackward(y: D, dy: D, dx: D, outer: number, dim: number, inner: number, log: boolean): void;
  /** labels is an int32 device buffer; a label out of range is reported by the next download(). */
  softmaxXent(logits: D, n: number, c: number, labels: D | null, targets: D | null, smoothing: number,
              probs: D, loss: D): void;
  softmaxXentBackward(probs: D, n: number, c: number, labels: D | null, targets: D | null, smoothing: number,
                      dloss: D, dlogits: D): void;
  reduce(op: number, x: D, y: D, outer: number, dim: number, inner: number): void;
  reduceBackward(op: number, x: D, y: D, dy: D, dx: D, outer: number, dim: number, inner: number): void;
  argReduce(op: number, x: D, out: D, outer: number, dim: number, inner: number): void;
  copyStrided(src: D, srcOffset: number, srcStrides: I32, dst: D, dstOffset: number, dstStrides: I32, shape: I32,
              accumulate: boolean): void;
  gather(x: D, indices: D, y: D, outer: number, dim: number, inner: number): void;
  gatherBackward(dy: D, indices: D, dx: D, outer: number, dim: number, inner: number): void;
  /** Same dims and workspace layout as the CPU's (a forward on one device, a backward on the other, read the same ws). */
  rnnForward(x: D, wx: D, wh: D, bx: D | null, bh: D | null, h0: D | null, c0: D | null, rmask: D | null, y: D, hN: D,
             cN: D | null, ws: D, dims: I32): void;
  rnnBackward(x: D, wx: D, wh: D, c0: D | null, rmask: D | null, ws: D, dy: D | null, dhN: D | null, dcN: D | null,
              dx: D | null, dwx: D | null, dwh: D | null, dbx: D | null, dbh: D | null, dh0: D | null, dc0: D | null,
              scratch: D, dims: I32): void;
  /** An index out of range is reported by the next download(), as gatherBackward's. */
  embeddingBackward(dy: D, indices: D, dw: D, numEmbeddings: number, dim: number, paddingIdx: number, ws: D): void;
  oneHot(indices: D, out: D, depth: number, on: number, off: number): void;
  conv2d(x: D, weight: D, bias: D | null, y: D, dims: I32, act: number): void;
  conv2dBackward(x: D, weight: D, dy: D, dx: D | null, dweight: D | null, dbias: D | null, dims: I32,
                 y: D | null, act: number): void;
  linear(x: D, w: D, b: D | null, y: D, m: number, n: number, k: number, transW: boolean, act: number): void;
  linearBackward(x: D, w: D, dy: D, y: D | null, dx: D | null, dw: D | null, db: D | null,
                 m: number, n: number, k: number, transW: boolean, act: number): void;
  maxPool2d(x: D, y: D, argmax: D, dims: I32): void;
  maxPool2dBackward(dy: D, argmax: D, dx: D, dims: I32): void;
  avgPool2d(x: D, y: D, dims: I32): void;
  avgPool2dBackward(dy: D, dx: D, dims: I32): void;
  /** Same seed, same mask as the CPU dropout. */
  dropout(x: D, y: D, mask: D, rate: number, seed: number): void;
  dropoutBackward(dy: D, mask: D, dx: D): void;
  batchNorm(x: D, gamma: D | null, beta: D | null, y: D, mean: D, invstd: D, runningMean: D, runningVar: D,
            outer: number, c: number, inner: number, momentum: number, eps: number, training: boolean): void;
  batchNormBackward(x: D, gamma: D | null, mean: D, invstd: D, dy: D, dx: D | null, dgamma: D | null,
                    dbeta: D | null, outer: number, c: number, inner: number): void;
  sgdStep(param: D, grad: D, momentumBuf: D | null, lr: number, momentum: number, dampening: number,
          weightDecay: number, nesterov: boolean, firstStep: boolean): void;
  adamStep(param: D, grad: D, m: D, v: D, vmax: D | null, lr: number, beta1: number, beta2: number, eps: number,
           weightDecay: number, decoupled: boolean, step: number): void;
  rmspropStep(param: D, grad: D, sq: D, momBuf: D | null, gradAvg: D | null, lr: number, alpha: number, eps: number,
              weightDecay: number, momentum: number, epsInSqrt: boolean): void;
  adagradStep(param: D, grad: D, sum: D, lr: number, lrDecay: number, weightDecay: number, eps: number, step: number,
              epsInSqrt: boolean): void;
  adadeltaStep(param: D, grad: D, sq: D, acc: D, lr: number, rho: number, eps: number, weightDecay: number): void;
  /** Waits for the device (it returns a number). */
  sumSquares(x: D): number;
  scale(x: D, alpha: number): void;
}
