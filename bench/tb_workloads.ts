// tensorbolt's side of the benchmark (see protocol.ts): training and inference through the public
// Keras-style API (model.fit / model.predict / model.evaluate), conv2d passes through the native
// binding at the CNN's shapes, and square sgemm through the binding and tb.matmul.
import * as tb from '../lib/index.js';
import { native } from '../lib/native/load.js';
import {
  CONV_SHAPES, peakRssMb, type ConvResult, type ConvSpec, type CudaGemmResult, type CudaGemmSpec, type GemmResult, type GemmSpec,
  type TrainResult, type TrainSpec,
} from './protocol.js';
import { gemmDirect } from './gemm_direct.js';
import { timeMs } from './stats.js';

/**
 * Inference steps on consecutive batches of the test images: `warmup` untimed, then `inferSteps`
 * timed, each the forward pass and the predicted classes (`run`; the batch is freed after it).
 */
export function timeInference(spec: TrainSpec, images: tb.Tensor, run: (xb: tb.Tensor) => void): number[] {
  const ms: number[] = [];
  const n = images.shape[0]!;
  for (let i = 0; i < spec.warmup + spec.inferSteps; i++) {
    const lo = (i * spec.batch) % (n - spec.batch);
    const xb = images.slice([lo, 0, 0, 0], [spec.batch, -1, -1, -1]);
    const t = performance.now();
    run(xb);
    const dt = performance.now() - t;
    xb.dispose();
    if (i >= spec.warmup) ms.push(dt);
  }
  return ms;
}

function applyThreads(threads: number | undefined): number {
  if (threads !== undefined) tb.setNumThreads(threads);
  return tb.backendInfo().threads;
}

export async function tbTrain(spec: TrainSpec): Promise<TrainResult> {
  const threads = applyThreads(spec.threads);
  if (spec.precision) tb.setMatmulPrecision(spec.precision);
  tb.setSeed(spec.seed);
  const { train, test } = await tb.datasets.mnist();
  const yTrain = tb.toCategorical(train.labels, 10);
  const yTest = tb.toCategorical(test.labels, 10);
  const model = spec.model === 'mlp' ? tb.models.mnistMlp() : spec.model === 'cnn' ? tb.models.mnistCnn() : tb.sequential([
    tb.layers.reshape({ targetShape: [28, 28], inputShape: [28, 28, 1] }),
    tb.layers.lstm({ units: 128 }),
    tb.layers.dense({ units: 10, activation: 'softmax' }),
  ]);
  // on a GPU (--device cuda) the batches are gathered on the host and uploaded, as a PyTorch DataLoader's are
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'], device: spec.device ?? 'cpu' });

  // Steady state: fit over the training set, stopped (model.stopTraining) once warmup + steps
  // batches have run; each sample is the time between two consecutive batch ends (the whole step,
  // including fit's own per-batch work). The data set is not copied for this (as PyTorch indexes its own).
  const nSteps = spec.warmup + spec.steps;
  const trainStepMs: number[] = [];
  if (nSteps > 0) {
    let t0 = 0;
    await model.fit(train.images, yTrain, {
      batchSize: spec.batch, epochs: 1, verbose: 0, seed: spec.seed,
      callbacks: {
        onBatchBegin: (b: number) => { if (b === 0) t0 = performance.now(); },
        onBatchEnd: (b: number) => {
          const t = performance.now();
          if (b >= spec.warmup) trainStepMs.push(t - t0);
          t0 = t;
          if (b + 1 >= nSteps) model.stopTraining = true;
        },
      },
    });
  }

  const inferStepMs = timeInference(spec, test.images, (xb) => {
    const p = model.predict(xb, { batchSize: spec.batch });
    p.argMax(-1).dispose();
    p.dispose();
  });

  const res: TrainResult = { trainStepMs, inferStepMs, threads, version: tb.version, peakRssMb: 0 };
  if (spec.epoch) {
    const t = performance.now();
    await model.fit(train.images, yTrain, { batchSize: spec.batch, epochs: 1, verbose: 0, seed: spec.seed + 1 });
    res.epochS = (performance.now() - t) / 1000;
    res.testAccuracy = model.evaluateDict(test.images, yTest, { batchSize: 1000 }).accuracy;
  }
  res.peakRssMb = peakRssMb();
  return res;
}

export function tbConv(spec: ConvSpec): ConvResult {
  const threads = applyThreads(spec.threads);
  const g = native();
  const convMs: Record<string, number[]> = {};
  const bf16 = tb.backendInfo().bf16;
  for (const [name, c, h, w, oc] of CONV_SHAPES) {
    const oh = h - 2, ow = w - 2;
    const x = tb.randn([spec.batch, h, w, c], 0, 1, { seed: 1 }).dataSync() as Float32Array;
    const wt = tb.randn([3, 3, c, oc], 0, 0.1, { seed: 2 }).dataSync() as Float32Array;
    const bias = new Float32Array(oc);
    const y = new Float32Array(spec.batch * oh * ow * oc);
    const dy = tb.randn([spec.batch, oh, ow, oc], 0, 1, { seed: 3 }).dataSync() as Float32Array;
    const dx = new Float32Array(x.length);
    const dw = new Float32Array(wt.length);
    const db = new Float32Array(oc);
    // n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, nhwc (as lib/ops/conv.ts)
    const dims = Int32Array.from([spec.batch, c, h, w, oc, 3, 3, oh, ow, 1, 1, 0, 0, 1]);
    const passes: [string, () => void][] = [
      ['forward', () => g.conv2d(x, wt, bias, y, dims, 0)],
      ['backwardInput', () => g.conv2dBackward(x, wt, dy, dx, null, null, dims, null, 0)],
      ['backwardWeight', () => g.conv2dBackward(x, wt, dy, null, dw, db, dims, null, 0)],
    ];
    // The same passes on NCHW (nn.Conv2d's layout: the same values transposed, the weight (OC, C, 3, 3)),
    // and with bf16 operands where the CPU has them.
    const nchwDims = Int32Array.from([...dims.slice(0, 13), 0]);
    const nchw: [string, () => void][] = [
      ['forward', () => g.conv2d(x, wt, bias, y, nchwDims, 0)],
      ['backwardInput', () => g.conv2dBackward(x, wt, dy, dx, null, null, nchwDims, null, 0)],
      ['backwardWeight', () => g.conv2dBackward(x, wt, dy, null, dw, db, nchwDims, null, 0)],
    ];
    const variants: [string, [string, () => void][], boolean][] = [['', passes, false], ['.nchw', nchw, false]];
    if (bf16) variants.push(['.bf16', passes, true]);
    for (const [suffix, list, useBf16] of variants)
      for (const [label, fn] of list) {
        if (name === 'conv1' && label === 'backwardInput') continue; // the network's input needs no gradient
        tb.setMatmulPrecision(useBf16 ? 'bf16' : 'highest');
        fn();
        const ts: number[] = [];
        for (let r = 0; r < spec.reps; r++) ts.push(timeMs(fn));
        convMs[`${name}.${label}${suffix}`] = ts;
      }
    tb.setMatmulPrecision('highest');
  }
  return { convMs, threads, version: tb.version, peakRssMb: peakRssMb() };
}

export function tbGemm(spec: GemmSpec): GemmResult {
  const threads = applyThreads(spec.threads);
  const g = native();
  const binding: Record<string, number[]> = {};
  const bindingBf16: Record<string, number[]> = {};
  const bindingSteady: Record<string, number[]> = {};
  const bf16 = tb.backendInfo().bf16;
  const matmul: Record<string, number[]> = {};
  const direct: Record<string, number[]> = {};
  let directError: string | null = null;
  for (const n of spec.sizes) {
    const a = tb.randn([n, n], 0, 1, { seed: 1 });
    const b = tb.randn([n, n], 0, 1, { seed: 2 });
    const A = a.dataSync() as Float32Array;
    const B = b.dataSync() as Float32Array;
    const C = new Float32Array(n * n);
    // enough calls per sample that small sizes are not dominated by timer resolution (as gemm_direct.cc)
    const inner = n <= 256 ? 20 : n <= 512 ? 4 : 1;
    g.gemm(A, B, C, false, false, n, n, n, 1, 0, 1, 0, 0, 0);
    tb.matmul(a, b).dispose();
    binding[n] = [];
    matmul[n] = [];
    direct[n] = [];
    // One sample of each in turn, so that load from elsewhere on the machine falls on all three alike.
    for (let r = 0; r < spec.reps; r++) {
      // gemmDirect (below) spawns a process: the fork leaves this process's pages copy-on-write, and
      // the next call pays a page fault on every page it writes (C, the packed panels). A user's loop
      // does not fork between products, so one untimed call first.
      g.gemm(A, B, C, false, false, n, n, n, 1, 0, 1, 0, 0, 0);
      binding[n]!.push(timeMs(() => { for (let q = 0; q < inner; q++) g.gemm(A, B, C, false, false, n, n, n, 1, 0, 1, 0, 0, 0); }) / inner);
      if (bf16) {
        tb.setMatmulPrecision('bf16');
        g.gemm(A, B, C, false, false, n, n, n, 1, 0, 1, 0, 0, 0);
        (bindingBf16[n] ??= []).push(timeMs(() => { for (let q = 0; q < inner; q++) g.gemm(A, B, C, false, false, n, n, n, 1, 0, 1, 0, 0, 0); }) / inner);
        tb.setMatmulPrecision('highest');
      }
      tb.matmul(a, b).dispose();
      matmul[n]!.push(timeMs(() => { for (let q = 0; q < inner; q++) tb.matmul(a, b).dispose(); }) / inner);
      if (directError === null) {
        const d = gemmDirect([n], 1, threads);
        if (typeof d === 'string') directError = d;
        else direct[n]!.push(...d[n]!);
      }
    }
    // Back to back, as a training loop calls it, with nothing between the samples (the interleaved
    // ones above share the machine's state with the direct program and tb.matmul).
    for (let q = 0; q < 3; q++) g.gemm(A, B, C, false, false, n, n, n, 1, 0, 1, 0, 0, 0);
    bindingSteady[n] = [];
    for (let r = 0; r < 3 * spec.reps; r++) bindingSteady[n]!.push(timeMs(() => { for (let q = 0; q < inner; q++) g.gemm(A, B, C, false, false, n, n, n, 1, 0, 1, 0, 0, 0); }) / inner);
    a.dispose();
    b.dispose();
  }
  const info = tb.backendInfo();
  return { binding, bindingSteady, matmul, ...(bf16 ? { bindingBf16 } : {}), direct: directError ?? direct, threads, openblas: info.openblasConfig || 'portable GEMM', version: tb.version, peakRssMb: peakRssMb() };
}

/** Square sgemm on the GPU through tb.matmul; every sample waits for the device (tb.cuda.synchronize). */
export function tbCudaGemm(spec: CudaGemmSpec): CudaGemmResult {
  const matmul: Record<string, number[]> = {};
  for (const n of spec.sizes) {
    const a = tb.randn([n, n], 0, 1, { seed: 1, device: 'cuda' });
    const b = tb.randn([n, n], 0, 1, { seed: 2, device: 'cuda' });
    const inner = n <= 512 ? 20 : n <= 2048 ? 5 : 1;
    tb.matmul(a, b).dispose();
    tb.cuda.synchronize();
    matmul[n] = [];
    for (let r = 0; r < spec.reps; r++)
      matmul[n]!.push(timeMs(() => {
        for (let q = 0; q < inner; q++) tb.matmul(a, b).dispose();
        tb.cuda.synchronize();
      }) / inner);
    tb.dispose([a, b]);
  }
  return { matmul, device: tb.cuda.info().device?.name ?? 'none', version: tb.version };
}
