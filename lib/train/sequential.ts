// The Keras-style model: tb.sequential([...layers]), compile, fit, evaluate, predict, summary.
import { TensorboltError, fmtShape, checkOptions } from '../tensor/errors.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/tidy.js';
import { Tensor, copyTo, hostValues, type NestedArray } from '../tensor/tensor.js';
import { backendFor, type DeviceName } from '../tensor/device.js';
import { tensor } from '../tensor/creation.js';
import { concat } from '../ops/layout.js';
import { Module } from '../nn/module.js';
import { Layer, Dense, Conv2D, type SampleShape } from '../nn/keras_layers.js';
import { Optimizer, optimizerFromName, type KerasOptimizerName } from '../optim/index.js';
import { softmaxCrossEntropyAndProbs } from '../ops/softmax.js';
import { canonicalLossName, lossByName, type LossFn } from './losses.js';
import { checkBatchSize, checkXY, numSamples, takeRows, toDevice } from './batches.js';
import { fit as fitLoop, type FitArgs } from './fit.js';
import type { History } from './callbacks.js';
import { metricValue, canonicalMetric, type MetricName } from './batch_metrics.js';

export interface CompileArgs {
  /** A name ('adam', 'sgd', ... case-insensitive), or an optimizer: tb.optimizers.adam({ learningRate }) or tb.optim.*. */
  optimizer: KerasOptimizerName | Optimizer;
  loss: string | LossFn;
  metrics?: string[];
  /** Where the model trains and predicts: model.to(device) as part of compile. */
  device?: DeviceName | 'cuda:0';
}

/** What fit, evaluate and predict take: a tensor, or (as Keras takes NumPy-like data) nested arrays. */
export type ModelInput = Tensor | NestedArray | Float32Array | Int32Array;

/** The tensors for inputs given as arrays (float32), made here and freed by the caller via `owned`. */
function asTensors(inputs: ModelInput[], owned: Tensor[]): Tensor[] {
  return inputs.map((v) => {
    if (!(Array.isArray(v) || v instanceof Float32Array || v instanceof Int32Array)) return v as Tensor; // checked where used
    const t = tensor(v);
    owned.push(t);
    return t;
  });
}

export class Sequential extends Module {
  readonly layers: Layer[] = [];
  optimizer: Optimizer | null = null;
  lossName: string | null = null;
  lossFn: LossFn | null = null;
  private optimizerName: string | null = null;
  metricNames: MetricName[] = [];
  /** The metric names as the user wrote them: the keys in logs and History. */
  metricLabels: string[] = [];
  /**
   * Set by a callback to end fit(): checked after every batch (the epoch ends there, with its
   * onEpochEnd) and between epochs (EarlyStopping sets it at an epoch's end).
   */
  stopTraining = false;
  readonly name: string;
  private fitting = false;

  constructor(args: { layers?: Layer[]; name?: string } = {}) {
    super();
    if (args === null || typeof args !== 'object' || (args.layers !== undefined && !Array.isArray(args.layers)))
      throw new TensorboltError('Sequential', `expects {layers?: Layer[], name?: string}, got ${args === null ? 'null' : typeof args}`);
    this.name = args.name ?? 'sequential';
    for (const l of args.layers ?? []) this.add(l);
  }

  add(layer: Layer): void {
    if (!(layer instanceof Layer)) throw new TensorboltError('Sequential.add', `expected a layer (tb.layers.*), got ${typeof layer}`);
    if (this.layers.length === 0 && !layer.inputShape && !layer.built) {
      // allowed: the input shape is then taken from the first batch
    }
    this.layers.push(layer);
    if (this.layers.length > 1 && this.layers[0]!.inputShape) this.build();
  }

  override namedChildren(): [string, Module][] {
    return this.layers.map((l) => [l.name, l]);
  }

  /** Builds every layer from the first layer's inputShape (or an explicit sample shape). */
  build(inputShape?: SampleShape): SampleShape {
    let s = inputShape ?? this.layers[0]?.inputShape ?? null;
    if (!s) throw new TensorboltError('Sequential.build', 'the first layer needs an inputShape (or call fit/predict to infer it)');
    for (const l of this.layers) {
      const out = l.computeOutputShape(s);
      if (!l.built) {
        l.build(s);
        l.syncDevice();
      } else if (l.builtInputShape!.join(',') !== s.join(','))
        throw new TensorboltError(l.name, `expected input shape [null,${l.builtInputShape!.join(',')}], got [null,${s.join(',')}]`);
      s = out;
    }
    return s;
  }

  /** Checks x's sample shape against the first layer's declared or built input shape. */
  checkInput(op: string, x: Tensor): void {
    const first = this.layers[0];
    if (!first) throw new TensorboltError(op, 'the model has no layers');
    const want = first.builtInputShape ?? first.inputShape;
    const got = x.shape.slice(1);
    if (want && want.join(',') !== got.join(','))
      throw new TensorboltError(op, `input shape ${fmtShape(x.shape)} does not fit layer '${first.name}': expected [null,${want.join(',')}]`);
    if (!want) this.build(got);
    else if (!first.built) this.build(want);
  }

  /** Output sample shape, when the input shape is known. */
  outputShape(): SampleShape | null {
    let s: SampleShape | null = this.layers[0]?.builtInputShape ?? this.layers[0]?.inputShape ?? null;
    for (const l of this.layers) if (s) s = l.computeOutputShape(s);
    return s;
  }

  /**
   * @internal Checks the class indices of a sparse categorical loss before any work. Without it a
   * bad label surfaced mid-epoch as 'label 5 of sample 0' (a position in a shuffled batch), and a
   * fractional label was silently truncated by the int32 cast.
   */
  checkTargets(op: string, y: Tensor): void {
    if (this.lossName !== 'sparseCategoricalCrossentropy') return;
    if (!(y.rank === 1 || (y.rank === 2 && y.shape[1] === 1)))
      throw new TensorboltError(op, `sparseCategoricalCrossentropy expects one class index per sample, got y ${fmtShape(y.shape)} (one-hot targets go with categoricalCrossentropy)`);
    const out = this.outputShape();
    const classes = out ? out[out.length - 1]! : Infinity;
    const d = hostValues(y, op);
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (!(Number.isInteger(v) && v >= 0 && v < classes))
        throw new TensorboltError(op, `label y[${i}] = ${v} is not a class index in [0, ${classes}) (the model outputs ${classes} classes)`);
    }
  }

  compile(args: CompileArgs): void {
    if (!args || typeof args !== 'object') throw new TensorboltError('compile', 'expects {optimizer, loss, metrics?}');
    if (typeof args.loss === 'string') {
      this.lossName = canonicalLossName(args.loss);
      this.lossFn = lossByName(args.loss);
    } else if (typeof args.loss === 'function') {
      this.lossName = null;
      this.lossFn = args.loss;
    } else {
      throw new TensorboltError('compile', `loss must be a name or a function, got ${typeof args.loss}`);
    }
    if (this.layers[0]?.inputShape) this.build();
    if (typeof args.optimizer === 'string') {
      this.optimizerName = args.optimizer;
      // validates the name now; the model's parameters join it once the model is built
      this.optimizer = optimizerFromName(args.optimizer);
    } else if (args.optimizer instanceof Optimizer) {
      this.optimizerName = null;
      this.optimizer = args.optimizer;
    } else {
      throw new TensorboltError('compile', 'optimizer must be a name (e.g. \'adam\') or an optimizer instance');
    }
    this.metricNames = (args.metrics ?? []).map((m) => canonicalMetric(m, this.lossName));
    this.metricLabels = (args.metrics ?? []).slice();
    if (args.device !== undefined) this.to(args.device);
  }

  /** Forward pass over all layers. */
  call(x: Tensor, training: boolean): Tensor {
    let h = x;
    for (const l of this.layers) h = l.apply(h, { training });
    return h;
  }

  forward(x: Tensor): Tensor {
    return this.call(x, this.training);
  }

  /**
   * Loss and predictions for one batch in training. A final softmax layer trained with a
   * categorical cross-entropy goes through the fused softmax-cross-entropy kernel on its logits
   * (stable for extreme logits). pred is always what the model outputs (probabilities here): metrics
   * such as 'mse' read its values, so handing them the logits gave wrong figures.
   */
  lossAndPred(x: Tensor, y: Tensor, training: boolean): { loss: Tensor; pred: Tensor } {
    const last = this.layers[this.layers.length - 1]!;
    const fusable = (last instanceof Dense || last instanceof Conv2D) && last.activation === 'softmax' &&
      (this.lossName === 'categoricalCrossentropy' || this.lossName === 'sparseCategoricalCrossentropy');
    if (fusable) {
      let h = x;
      for (let i = 0; i < this.layers.length - 1; i++) h = this.layers[i]!.apply(h, { training });
      if (!last.built) {
        last.computeOutputShape(h.shape.slice(1));
        last.build(h.shape.slice(1));
        last.syncDevice();
      }
      const logits = last.callLinear(h);
      if (logits.rank !== 2) throw new TensorboltError('fit', `a softmax output must be (batch, classes), got ${fmtShape(logits.shape)}`);
      let target = y;
      if (this.lossName === 'categoricalCrossentropy') {
        if (y.shape.join(',') !== logits.shape.join(','))
          throw new TensorboltError('fit', `y ${fmtShape(y.shape)} does not match the model output ${fmtShape(logits.shape)} for categoricalCrossentropy (one-hot targets; use tb.toCategorical)`);
      } else {
        target = y.rank === 2 && y.shape[1] === 1 ? y.reshape([y.shape[0]!]) : y;
        if (target.dtype !== 'int32') target = target.cast('int32');
      }
      // pred: the probabilities the fused kernel computed (the same values softmax(logits) gives)
      const { loss, probs } = softmaxCrossEntropyAndProbs(logits, target);
      return { loss, pred: probs };
    }
    const pred = this.call(x, training);
    return { loss: this.lossFn!(y, pred), pred };
  }

  async fit(x: ModelInput, y: ModelInput, args: FitArgs = {}): Promise<History> {
    checkOptions('fit', args);
    if (!this.optimizer || !this.lossFn) throw new TensorboltError('fit', 'call compile({optimizer, loss}) before fit');
    // Two fit calls on one model would interleave their batches on the same weights and optimizer,
    // and the first one's end would switch dropout off in the middle of the second.
    if (this.fitting)
      throw new TensorboltError('fit', `model '${this.name}' is already training: a fit() call on it has not finished; await it first (two models can train at once)`);
    this.fitting = true;
    const owned: Tensor[] = [];
    try {
      const [xt, yt] = asTensors([x, y], owned);
      return await fitLoop(this, xt!, yt!, args);
    } finally {
      for (const t of owned) t.dispose();
      this.fitting = false;
    }
  }

  /**
   * @internal After the model is built, the optimizer trains every trainable weight (as in Keras,
   * where an optimizer instance passed to compile() picks up the model's weights on first use).
   */
  ensureOptimizer(): Optimizer {
    const opt = this.optimizer!;
    const have = new Set(opt.paramGroups.flatMap((g) => g.params));
    const missing = this.parameters().filter((p) => !have.has(p));
    if (missing.length > 0) opt.addParamGroup({ params: missing });
    return opt;
  }

  /**
   * Saves model.json + a weights file (TensorFlow.js layers format) to 'file://DIR'; with
   * includeOptimizer, also the compile arguments and the optimizer state (to resume training).
   */
  async save(url: string, opts: { includeOptimizer?: boolean } = {}): Promise<{ modelJsonPath: string; weightsPath: string; weightBytes: number }> {
    const { saveLayersModel } = await import('../io/layers_model.js');
    return saveLayersModel(this, url, opts);
  }

  /** Predictions in inference mode, in batches run on the model's device; returned on the input's device. */
  predict(input: ModelInput, args: { batchSize?: number } = {}): Tensor {
    const op = 'predict';
    checkOptions(op, args);
    const owned: Tensor[] = [];
    let out: Tensor | null = null;
    try {
      return (out = this.predictTensor(op, asTensors([input], owned)[0]!, args));
    } finally {
      for (const t of owned) if (t !== out) t.dispose(); // a layer may hand its input back as it is
    }
  }

  private predictTensor(op: string, x: Tensor, args: { batchSize?: number }): Tensor {
    const n = numSamples(op, x);
    const bs = checkBatchSize(op, args.batchSize ?? 32);
    this.checkInput(op, x);
    const dev = this.device;
    const back = (t: Tensor): Tensor => (t.device === x.device ? t : copyTo(t, x._be, op));
    return noGrad(() => {
      if (n <= bs) return tidy(() => back(this.call(x.device === dev ? x : copyTo(x, backendFor(op, dev), op), false)));
      const parts: Tensor[] = [];
      for (let i = 0; i < n; i += bs)
        parts.push(tidy(() => this.call(toDevice(takeRows(x, null, i, Math.min(n, i + bs)), dev, op), false)));
      const out = tidy(() => back(concat(parts, 0)));
      for (const p of parts) p.dispose();
      return out;
    });
  }

  /** [loss, ...metrics] over the data set in inference mode (Keras' evaluate). */
  evaluate(x: ModelInput, y: ModelInput, args: { batchSize?: number } = {}): number[] {
    const r = this.evaluateDict(x, y, args);
    return [r.loss!, ...this.metricLabels.map((m) => r[m]!)];
  }

  evaluateDict(xIn: ModelInput, yIn: ModelInput, args: { batchSize?: number } = {}): Record<string, number> {
    const op = 'evaluate';
    checkOptions(op, args);
    const owned: Tensor[] = [];
    try {
      const [x, y] = asTensors([xIn, yIn], owned);
      return this.evaluateTensors(op, x!, y!, args);
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  private evaluateTensors(op: string, x: Tensor, y: Tensor, args: { batchSize?: number }): Record<string, number> {
    if (!this.lossFn) throw new TensorboltError(op, 'call compile() before evaluate');
    const n = checkXY(op, x, y);
    const bs = checkBatchSize(op, args.batchSize ?? 32);
    this.checkInput(op, x);
    this.checkTargets(op, y);
    let lossSum = 0;
    const sums: Record<string, number> = {};
    noGrad(() => {
      for (let i = 0; i < n; i += bs) {
        const end = Math.min(n, i + bs);
        tidy(() => {
          const dev = this.device;
          const xb = toDevice(takeRows(x, null, i, end), dev, op);
          const yb = takeRows(y, null, i, end);
          const yd = yb.device === dev ? yb : copyTo(yb, backendFor(op, dev), op);
          const { loss, pred } = this.lossAndPred(xb, yd, false);
          lossSum += loss.item() * (end - i);
          for (const m of this.metricNames) sums[m] = (sums[m] ?? 0) + metricValue(m, yb, pred) * (end - i);
        });
      }
    });
    const out: Record<string, number> = { loss: lossSum / n };
    this.metricNames.forEach((m, i) => (out[this.metricLabels[i]!] = sums[m]! / n));
    return out;
  }

  /** A Keras-like table of layers, output shapes and parameter counts; returned and printed. */
  summary(print: (s: string) => void = console.log): string {
    const rows: [string, string, string][] = [];
    let s: SampleShape | null = this.layers[0]?.builtInputShape ?? this.layers[0]?.inputShape ?? null;
    let total = 0;
    let trainable = 0;
    for (const l of this.layers) {
      let out = '?';
      if (s) {
        s = l.computeOutputShape(s);
        out = `[null,${s.join(',')}]`;
      }
      const count = l.countParams();
      const nonTrainable = l.weightsWithNames().filter(([k]) => /moving_/.test(k)).reduce((a, [, w]) => a + w.size, 0);
      total += count;
      trainable += count - nonTrainable;
      rows.push([`${l.name} (${l.className})`, out, String(count)]);
    }
    const w = [Math.max(28, ...rows.map((r) => r[0].length)) + 2, Math.max(20, ...rows.map((r) => r[1].length)) + 2, 12];
    const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i]!)).join('');
    const sep = '_'.repeat(w[0]! + w[1]! + w[2]!);
    const text = [
      `Model: "${this.name}"`, sep, line(['Layer (type)', 'Output shape', 'Param #']), '='.repeat(sep.length),
      ...rows.flatMap((r, i) => [line(r), i < rows.length - 1 ? '_'.repeat(sep.length) : '']).filter((x) => x !== ''),
      '='.repeat(sep.length), `Total params: ${total}`, `Trainable params: ${trainable}`, `Non-trainable params: ${total - trainable}`, sep,
    ].join('\n');
    print(text);
    return text;
  }
}

/** tb.sequential([...]) */
export function sequential(layersOrArgs: Layer[] | { layers?: Layer[]; name?: string } = []): Sequential {
  return Array.isArray(layersOrArgs) ? new Sequential({ layers: layersOrArgs }) : new Sequential(layersOrArgs);
}
