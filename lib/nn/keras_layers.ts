// Keras-style layers (tb.layers.*): config objects, lazy build from the input shape, NHWC images,
// Glorot-uniform kernels and zero biases (Keras defaults), weights named '<layer>/kernel' etc.
// Each layer is an nn.Module, so parameters()/stateDict() work on Keras models too.
import { TensorboltError, fmtShape, fmtValue, checkOptions } from '../tensor/errors.js';
import { rand, zeros, ones } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { Random } from '../tensor/random.js';
import { activationByName } from '../ops/activation.js';
import { linear as linearOp } from '../ops/linear.js';
import { conv2d as conv2dOp, convOutputSize } from '../ops/conv.js';
import { maxPool2d as maxPoolOp, avgPool2d as avgPoolOp, globalAvgPool2d } from '../ops/pool.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { batchNorm } from '../ops/batchnorm.js';
import { reshape as reshapeOp } from '../ops/reshape.js';
import { Module, parameter } from './module.js';

export type ActivationName = 'linear' | 'relu' | 'leakyRelu' | 'elu' | 'sigmoid' | 'tanh' | 'gelu' | 'softplus' | 'relu6' | 'selu' | 'softmax' | 'logSoftmax';

/** Shape without the batch axis. */
export type SampleShape = number[];

export interface LayerArgs {
  name?: string;
  /** Sample shape of the model's input (first layer only), without the batch axis. */
  inputShape?: number[];
  batchInputShape?: (number | null)[];
}

const counters = new Map<string, number>();
function uniqueName(base: string): string {
  const n = (counters.get(base) ?? 0) + 1;
  counters.set(base, n);
  return n === 1 ? base : `${base}_${n - 1}`;
}

/** Glorot (Xavier) uniform: U(-limit, limit), limit = sqrt(6 / (fanIn + fanOut)). */
export function glorotUniform(shape: number[], fanIn: number, fanOut: number): Tensor {
  const limit = Math.sqrt(6 / Math.max(1, fanIn + fanOut));
  return parameter(rand(shape, -limit, limit));
}

export interface CallOptions {
  training?: boolean;
}

export abstract class Layer extends Module {
  readonly name: string;
  /** The declared input sample shape (first layer), if any. */
  readonly inputShape: SampleShape | null;
  /** Set by build(). */
  builtInputShape: SampleShape | null = null;
  /** The Keras class name written to model.json. */
  abstract readonly className: string;

  constructor(args: LayerArgs, baseName: string) {
    super();
    // tb.layers.dense() without its config object must be a TensorboltError, not a TypeError below.
    if (args === null || typeof args !== 'object')
      throw new TensorboltError(baseName, `expects a config object, got ${args === null ? 'null' : typeof args}`);
    this.name = args.name ?? uniqueName(baseName);
    const bis = args.batchInputShape;
    this.inputShape = args.inputShape ? args.inputShape.slice() : bis ? (bis.slice(1) as number[]) : null;
    if (this.inputShape && this.inputShape.some((d) => !Number.isInteger(d) || d <= 0))
      throw new TensorboltError(this.name, `inputShape must hold positive integers, got ${fmtValue(this.inputShape)}`);
  }

  get built(): boolean {
    return this.builtInputShape !== null;
  }

  /** Creates weights for an input sample shape; checks the shape fits. */
  build(inputShape: SampleShape): void {
    this.builtInputShape = inputShape.slice();
  }

  /** Output sample shape for an input sample shape (throws naming the layer when it does not fit). */
  abstract computeOutputShape(inputShape: SampleShape): SampleShape;

  /** Forward on a batch (N, ...sampleShape). */
  abstract call(x: Tensor, opts?: CallOptions): Tensor;

  forward(x: Tensor): Tensor {
    return this.apply(x, { training: this.training });
  }

  /** Builds on first use, checks the input's sample shape, then calls. */
  apply(x: Tensor, opts: CallOptions = {}): Tensor {
    checkOptions(this.name, opts);
    if (!(x instanceof Tensor)) throw new TensorboltError(this.name, `input must be a Tensor, got ${typeof x}`);
    const sample = x.shape.slice(1);
    if (!this.built) {
      this.computeOutputShape(sample);
      this.build(sample);
      this.syncDevice(); // a layer built after its model moved (model.to) joins the model's device
    } else if (sample.join(',') !== this.builtInputShape!.join(',')) {
      throw new TensorboltError(this.name, `expected input shape [null,${this.builtInputShape!.join(',')}], got ${fmtShape(x.shape)}`);
    }
    return this.call(x, opts);
  }

  /** Keras config for model.json. */
  getConfig(): Record<string, unknown> {
    const c: Record<string, unknown> = { name: this.name, trainable: true, dtype: 'float32' };
    if (this.inputShape) c.batch_input_shape = [null, ...this.inputShape];
    return c;
  }

  /** Weights in Keras order with their Keras names. */
  weightsWithNames(): [string, Tensor][] {
    return [];
  }

  countParams(): number {
    return this.weightsWithNames().reduce((s, [, w]) => s + w.size, 0);
  }
}

function actName(op: string, a: string | undefined): ActivationName {
  const name = (a ?? 'linear') as ActivationName;
  try {
    activationByName(name);
  } catch (e) {
    // name the layer at fault, keeping the list of valid names
    if (e instanceof TensorboltError) throw new TensorboltError(op, e.message);
    throw e;
  }
  return name;
}

// ---------------- Dense ----------------

export interface DenseArgs extends LayerArgs {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
}

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  kernel: Tensor | null = null;
  bias: Tensor | null = null;

  constructor(args: DenseArgs) {
    super(args, 'dense');
    if (!Number.isInteger(args.units) || args.units <= 0) throw new TensorboltError(this.name, `units must be a positive integer, got ${fmtValue(args.units)}`);
    this.units = args.units;
    this.activation = actName(this.name, args.activation);
    this.useBias = args.useBias !== false;
  }

  computeOutputShape(s: SampleShape): SampleShape {
    if (s.length < 1) throw new TensorboltError(this.name, `Dense needs an input of rank >= 2, got sample shape [${s.join(',')}]`);
    if (this.built && s[s.length - 1] !== this.builtInputShape![this.builtInputShape!.length - 1])
      throw new TensorboltError(this.name, `expected last dimension ${this.builtInputShape![this.builtInputShape!.length - 1]}, got ${s[s.length - 1]}`);
    return [...s.slice(0, -1), this.units];
  }

  override build(s: SampleShape): void {
    super.build(s);
    const inDim = s[s.length - 1]!;
    this.kernel = glorotUniform([inDim, this.units], inDim, this.units);
    this.bias = this.useBias ? parameter(zeros([this.units])) : null;
  }

  /** Pre-activation output (the fused softmax-cross-entropy path uses it). */
  callLinear(x: Tensor): Tensor {
    return linearOp(x, this.kernel!, this.bias);
  }

  call(x: Tensor): Tensor {
    // ReLU runs in the same native pass as the product and the bias (same values and gradients).
    if (this.activation === 'relu') return linearOp(x, this.kernel!, this.bias, { activation: 'relu' });
    return activationByName(this.activation)(this.callLinear(x));
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), units: this.units, activation: kerasActivation(this.activation), use_bias: this.useBias,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null };
  }

  override weightsWithNames(): [string, Tensor][] {
    const w: [string, Tensor][] = [];
    if (this.kernel) w.push([`${this.name}/kernel`, this.kernel]);
    if (this.bias) w.push([`${this.name}/bias`, this.bias]);
    return w;
  }
}

/** Keras/tfjs spell activations in snake_case. */
export function kerasActivation(a: ActivationName): string {
  return ({ leakyRelu: 'leaky_relu', logSoftmax: 'log_softmax' } as Record<string, string>)[a] ?? a;
}

// ---------------- Conv2D ----------------

export interface Conv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  activation?: ActivationName;
  useBias?: boolean;
  dataFormat?: 'channelsLast';
}

function pair(layer: string, name: string, v: number | [number, number]): [number, number] {
  const p: [number, number] = Array.isArray(v) ? [v[0], v[1]] : [v, v];
  if (!p.every((d) => Number.isInteger(d) && d > 0)) throw new TensorboltError(layer, `${name} must be positive integers, got ${fmtValue(v)}`);
  return p;
}

export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly activation: ActivationName;
  readonly useBias: boolean;
  kernel: Tensor | null = null;
  bias: Tensor | null = null;

  constructor(args: Conv2DArgs) {
    super(args, 'conv2d');
    if (!Number.isInteger(args.filters) || args.filters <= 0) throw new TensorboltError(this.name, `filters must be a positive integer, got ${fmtValue(args.filters)}`);
    if (args.dataFormat && args.dataFormat !== 'channelsLast')
      throw new TensorboltError(this.name, `only dataFormat 'channelsLast' (NHWC) is supported by Keras-style layers; use nn.Conv2d for NCHW`);
    this.filters = args.filters;
    this.kernelSize = pair(this.name, 'kernelSize', args.kernelSize);
    this.strides = pair(this.name, 'strides', args.strides ?? 1);
    this.padding = args.padding ?? 'valid';
    if (this.padding !== 'valid' && this.padding !== 'same') throw new TensorboltError(this.name, `padding must be 'valid' or 'same', got ${fmtValue(args.padding)}`);
    this.activation = actName(this.name, args.activation);
    this.useBias = args.useBias !== false;
  }

  computeOutputShape(s: SampleShape): SampleShape {
    if (s.length !== 3) throw new TensorboltError(this.name, `Conv2D expects input (batch, height, width, channels), got sample shape [${s.join(',')}]`);
    const [h, w] = s as [number, number, number];
    const oh = convOutputSize(h, this.kernelSize[0], this.strides[0], this.padding);
    const ow = convOutputSize(w, this.kernelSize[1], this.strides[1], this.padding);
    if (oh <= 0 || ow <= 0)
      throw new TensorboltError(this.name, `kernel ${this.kernelSize.join('x')} does not fit input ${h}x${w} with padding '${this.padding}'`);
    return [oh, ow, this.filters];
  }

  override build(s: SampleShape): void {
    super.build(s);
    const c = s[2]!;
    const [kh, kw] = this.kernelSize;
    this.kernel = glorotUniform([kh, kw, c, this.filters], kh * kw * c, kh * kw * this.filters);
    this.bias = this.useBias ? parameter(zeros([this.filters])) : null;
  }

  callLinear(x: Tensor): Tensor {
    return conv2dOp(x, this.kernel!, this.bias, { strides: this.strides, padding: this.padding, dataFormat: 'NHWC' });
  }

  call(x: Tensor): Tensor {
    // ReLU runs inside the convolution's own pass (same values and gradients, one pass less each way).
    if (this.activation === 'relu')
      return conv2dOp(x, this.kernel!, this.bias, { strides: this.strides, padding: this.padding, dataFormat: 'NHWC', activation: 'relu' });
    return activationByName(this.activation)(this.callLinear(x));
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), filters: this.filters, kernel_size: this.kernelSize, strides: this.strides, padding: this.padding,
      data_format: 'channels_last', dilation_rate: [1, 1], activation: kerasActivation(this.activation), use_bias: this.useBias,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null };
  }

  override weightsWithNames(): [string, Tensor][] {
    const w: [string, Tensor][] = [];
    if (this.kernel) w.push([`${this.name}/kernel`, this.kernel]);
    if (this.bias) w.push([`${this.name}/bias`, this.bias]);
    return w;
  }
}

// ---------------- Pooling ----------------

export interface Pool2DArgs extends LayerArgs {
  poolSize?: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
}

abstract class Pool2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  constructor(args: Pool2DArgs, base: string) {
    super(args, base);
    this.poolSize = pair(this.name, 'poolSize', args.poolSize ?? 2);
    this.strides = pair(this.name, 'strides', args.strides ?? this.poolSize);
    this.padding = args.padding ?? 'valid';
    if (this.padding !== 'valid' && this.padding !== 'same') throw new TensorboltError(this.name, `padding must be 'valid' or 'same', got ${fmtValue(args.padding)}`);
  }
  computeOutputShape(s: SampleShape): SampleShape {
    if (s.length !== 3) throw new TensorboltError(this.name, `${this.className} expects input (batch, height, width, channels), got sample shape [${s.join(',')}]`);
    const oh = convOutputSize(s[0]!, this.poolSize[0], this.strides[0], this.padding);
    const ow = convOutputSize(s[1]!, this.poolSize[1], this.strides[1], this.padding);
    if (oh <= 0 || ow <= 0) throw new TensorboltError(this.name, `pool ${this.poolSize.join('x')} does not fit input ${s[0]}x${s[1]}`);
    return [oh, ow, s[2]!];
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), pool_size: this.poolSize, strides: this.strides, padding: this.padding, data_format: 'channels_last' };
  }
}

export class MaxPooling2D extends Pool2D {
  readonly className = 'MaxPooling2D';
  constructor(args: Pool2DArgs = {}) { super(args, 'max_pooling2d'); }
  call(x: Tensor): Tensor {
    return maxPoolOp(x, { poolSize: this.poolSize, strides: this.strides, padding: this.padding, dataFormat: 'NHWC' });
  }
}

export class AveragePooling2D extends Pool2D {
  readonly className = 'AveragePooling2D';
  constructor(args: Pool2DArgs = {}) { super(args, 'average_pooling2d'); }
  call(x: Tensor): Tensor {
    return avgPoolOp(x, { poolSize: this.poolSize, strides: this.strides, padding: this.padding, dataFormat: 'NHWC' });
  }
}

export class GlobalAveragePooling2D extends Layer {
  readonly className = 'GlobalAveragePooling2D';
  constructor(args: LayerArgs = {}) { super(args, 'global_average_pooling2d'); }
  computeOutputShape(s: SampleShape): SampleShape {
    if (s.length !== 3) throw new TensorboltError(this.name, `expects input (batch, height, width, channels), got sample shape [${s.join(',')}]`);
    return [s[2]!];
  }
  call(x: Tensor): Tensor {
    return globalAvgPool2d(x, 'NHWC');
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), data_format: 'channels_last' };
  }
}

// ---------------- Shape layers ----------------

export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(args: LayerArgs = {}) { super(args, 'flatten'); }
  computeOutputShape(s: SampleShape): SampleShape {
    return [s.reduce((a, b) => a * b, 1)];
  }
  call(x: Tensor): Tensor {
    return reshapeOp(x, [x.shape[0]!, this.computeOutputShape(x.shape.slice(1))[0]!]);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), data_format: 'channels_last' };
  }
}

export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: number[];
  constructor(args: LayerArgs & { targetShape: number[] }) {
    super(args, 'reshape');
    const t: unknown = args.targetShape;
    // Checked here: a string or a list with holes failed later with a TypeError.
    if (!Array.isArray(t) || !t.every((d) => d === -1 || (Number.isInteger(d) && d >= 0)) || t.filter((d) => d === -1).length > 1)
      throw new TensorboltError(this.name, `targetShape must be an array of non-negative integers with at most one -1, got ${fmtValue(t)}`);
    this.targetShape = t.slice();
  }
  computeOutputShape(s: SampleShape): SampleShape {
    const n = s.reduce((a, b) => a * b, 1);
    const t = this.targetShape.slice();
    const unknown = t.indexOf(-1);
    const known = t.reduce((a, b) => (b === -1 ? a : a * b), 1);
    if (unknown >= 0) t[unknown] = n / known;
    if (t.reduce((a, b) => a * b, 1) !== n || !t.every((d) => Number.isInteger(d) && d >= 0))
      throw new TensorboltError(this.name, `cannot reshape sample shape [${s.join(',')}] into [${this.targetShape.join(',')}]`);
    return t;
  }
  call(x: Tensor): Tensor {
    return reshapeOp(x, [x.shape[0]!, ...this.computeOutputShape(x.shape.slice(1))]);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), target_shape: this.targetShape };
  }
}

// ---------------- Dropout, BatchNormalization, Activation ----------------

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly seed: number | undefined;
  // A seeded layer draws its masks from its own generator: another model training in the same
  // process (or anything else using the global generator) must not change them.
  private readonly rng: Random | null;
  constructor(args: LayerArgs & { rate: number; seed?: number }) {
    super(args, 'dropout');
    if (!(typeof args.rate === 'number' && args.rate >= 0 && args.rate < 1)) throw new TensorboltError(this.name, `rate must be in [0, 1), got ${fmtValue(args.rate)}`);
    if (args.seed !== undefined && args.seed !== null && !Number.isSafeInteger(args.seed)) throw new TensorboltError(this.name, `seed must be an integer, got ${fmtValue(args.seed)}`);
    this.rate = args.rate;
    this.seed = args.seed ?? undefined;
    this.rng = this.seed !== undefined ? new Random(this.seed) : null;
  }
  computeOutputShape(s: SampleShape): SampleShape {
    return s;
  }
  call(x: Tensor, opts: CallOptions = {}): Tensor {
    if (!opts.training || this.rate === 0) return x;
    return dropoutOp(x, this.rate, { training: true, seed: this.rng ? this.rng.nextU32() : undefined });
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, noise_shape: null, seed: this.seed ?? null };
  }
}

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly axis: number;
  /** Keras momentum (running = momentum*running + (1-momentum)*batch), default 0.99. */
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  gamma: Tensor | null = null;
  beta: Tensor | null = null;

  constructor(args: LayerArgs & { axis?: number; momentum?: number; epsilon?: number; center?: boolean; scale?: boolean } = {}) {
    super(args, 'batch_normalization');
    this.axis = args.axis ?? -1;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center !== false;
    this.scale = args.scale !== false;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new TensorboltError(this.name, `momentum must be in [0, 1], got ${this.momentum}`);
  }
  computeOutputShape(s: SampleShape): SampleShape {
    const ax = this.axis < 0 ? s.length + 1 + this.axis : this.axis;
    if (ax < 1 || ax > s.length) throw new TensorboltError(this.name, `axis ${this.axis} is out of range for input of rank ${s.length + 1}`);
    return s;
  }
  override build(s: SampleShape): void {
    super.build(s);
    const ax = this.axis < 0 ? s.length + 1 + this.axis : this.axis;
    const c = s[ax - 1]!;
    this.gamma = this.scale ? parameter(ones([c])) : null;
    this.beta = this.center ? parameter(zeros([c])) : null;
    this.registerBuffer('movingMean', zeros([c]));
    this.registerBuffer('movingVariance', ones([c]));
  }
  call(x: Tensor, opts: CallOptions = {}): Tensor {
    return batchNorm(x, { gamma: this.gamma, beta: this.beta, runningMean: this.buffer('movingMean'), runningVar: this.buffer('movingVariance') },
      { training: !!opts.training, momentum: 1 - this.momentum, eps: this.epsilon, axis: this.axis });
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis, momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale,
      beta_initializer: { class_name: 'Zeros', config: {} }, gamma_initializer: { class_name: 'Ones', config: {} },
      moving_mean_initializer: { class_name: 'Zeros', config: {} }, moving_variance_initializer: { class_name: 'Ones', config: {} },
      beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null };
  }
  override weightsWithNames(): [string, Tensor][] {
    const w: [string, Tensor][] = [];
    if (this.gamma) w.push([`${this.name}/gamma`, this.gamma]);
    if (this.beta) w.push([`${this.name}/beta`, this.beta]);
    if (this.built) {
      w.push([`${this.name}/moving_mean`, this.buffer('movingMean')]);
      w.push([`${this.name}/moving_variance`, this.buffer('movingVariance')]);
    }
    return w;
  }
}

export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: ActivationName;
  constructor(args: LayerArgs & { activation: ActivationName }) {
    super(args, 'activation');
    this.activation = actName(this.name, args.activation);
  }
  computeOutputShape(s: SampleShape): SampleShape {
    return s;
  }
  call(x: Tensor): Tensor {
    return activationByName(this.activation)(x);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: kerasActivation(this.activation) };
  }
}

/** tb.layers.* factories, as in TensorFlow.js. */
export const layers = {
  dense: (args: DenseArgs) => new Dense(args),
  conv2d: (args: Conv2DArgs) => new Conv2D(args),
  maxPooling2d: (args: Pool2DArgs = {}) => new MaxPooling2D(args),
  averagePooling2d: (args: Pool2DArgs = {}) => new AveragePooling2D(args),
  globalAveragePooling2d: (args: LayerArgs = {}) => new GlobalAveragePooling2D(args),
  flatten: (args: LayerArgs = {}) => new Flatten(args),
  reshape: (args: LayerArgs & { targetShape: number[] }) => new Reshape(args),
  dropout: (args: LayerArgs & { rate: number; seed?: number }) => new Dropout(args),
  batchNormalization: (args: LayerArgs & { axis?: number; momentum?: number; epsilon?: number; center?: boolean; scale?: boolean } = {}) => new BatchNormalization(args),
  activation: (args: LayerArgs & { activation: ActivationName }) => new Activation(args),
};
