// What every peer runs and reports, so the numbers compare: the same model, MNIST data, batch size,
// optimizer (Adam, lr 1e-3) and categorical cross-entropy, measured the same way.
//   training: `warmup` steps, then `steps` steps each timed alone (data gathering, forward, loss,
//             backward, optimizer update, reading back the loss and accuracy as Keras' fit does);
//   inference: `warmup` then `inferSteps` forward passes of one batch of test images, timed alone;
//   epoch:    one shuffled pass over the 60,000 training images, then the test accuracy.
// The LSTM reads each (28, 28, 1) image as 28 steps of 28 pixels (a reshape layer, in every peer),
// with sigmoid gates (Keras's default; TensorFlow.js is told so, its own default is hard_sigmoid).

export type ModelKind = 'mlp' | 'cnn' | 'lstm';
/** Every workload, in report order. lstm: sequential MNIST, each image 28 steps of 28 pixels into LSTM(128), then Dense(10). */
export const MODELS: ModelKind[] = ['mlp', 'cnn', 'lstm'];
export type Framework = 'tensorbolt' | 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-node';

export interface TrainSpec {
  task: 'train';
  framework: Framework;
  model: ModelKind;
  batch: number;
  warmup: number;
  steps: number;
  inferSteps: number;
  epoch: boolean;
  seed: number;
  /** Threads for frameworks that have the knob (tensorbolt); undefined keeps the default. */
  threads?: number;
  /** Stop timing training after this many seconds once one step is timed (for very slow peers). */
  maxSeconds?: number;
  /**
   * tensorbolt only: 'keras' (default) trains through model.fit (NHWC); 'torch' through a PyTorch-style
   * hand-written loop over tb.nn modules (nn.Conv2d on NCHW for the CNN), as torch_bench.py does.
   */
  style?: 'keras' | 'torch';
  /** tensorbolt only: setMatmulPrecision (default 'highest'). */
  precision?: 'highest' | 'bf16';
  /** Where the model trains ('cuda': npm run bench -- --device cuda); default 'cpu'. */
  device?: 'cpu' | 'cuda';
}

export interface ConvSpec {
  task: 'conv';
  framework: 'tensorbolt';
  batch: number;
  reps: number;
  threads?: number;
}

export interface GemmSpec {
  task: 'gemm';
  framework: 'tensorbolt';
  sizes: number[];
  reps: number;
  threads?: number;
}

/** Square sgemm through tb.matmul on the GPU (each sample ends with tb.cuda.synchronize()). */
export interface CudaGemmSpec {
  task: 'cudaGemm';
  framework: 'tensorbolt';
  sizes: number[];
  reps: number;
}

export type Spec = TrainSpec | ConvSpec | GemmSpec | CudaGemmSpec;

export interface CudaGemmResult {
  /** n to samples in ms. */
  matmul: Record<string, number[]>;
  device: string;
  version: string;
}

export interface TrainResult {
  trainStepMs: number[];
  inferStepMs: number[];
  epochS?: number;
  testAccuracy?: number;
  /** Why training could not run (a missing kernel), when it could not; inference may still have run. */
  trainError?: string;
  threads: number;
  threadsNote?: string;
  version: string;
  peakRssMb: number;
}

/** conv timings: key `conv1.forward`, `conv2.backwardInput`, ... to samples in ms. */
export interface ConvResult {
  /** tensorbolt also times `conv2.forward.nchw` (NCHW) and `conv2.forward.bf16` (NHWC, bf16 operands, where the CPU has them). */
  convMs: Record<string, number[]>;
  threads: number;
  version: string;
  peakRssMb: number;
}

export interface GemmResult {
  /** n to samples in ms: through the binding (raw gemm on typed arrays) and through tb.matmul. */
  binding: Record<string, number[]>;
  matmul: Record<string, number[]>;
  /** The binding's gemm with setMatmulPrecision('bf16'), where the CPU has AVX512_BF16. */
  bindingBf16?: Record<string, number[]>;
  /** fp32 binding gemm called back to back (no idle wait or process spawn between samples). */
  bindingSteady?: Record<string, number[]>;
  /** OpenBLAS called from a small C++ program (no Node), or why it could not run. */
  direct: Record<string, number[]> | string;
  threads: number;
  openblas: string;
  version: string;
  peakRssMb: number;
}

/** The CNN's convolutions: 3x3, valid, stride 1, NHWC. [name, C, H, W, OC]. */
export const CONV_SHAPES: [string, number, number, number, number][] = [
  ['conv1', 1, 28, 28, 32],
  ['conv2', 32, 26, 26, 64],
];

/** Multiply-adds x 2 of one 3x3 valid conv pass (forward, or either backward product). */
export function convFlops(batch: number, c: number, h: number, w: number, oc: number): number {
  return 2 * batch * (h - 2) * (w - 2) * oc * c * 9;
}

/** The line a worker prints its result on (tfjs writes its own banners to stdout). */
export const RESULT_TAG = '@@tensorbolt-bench-result ';

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // KiB on Linux
}
