// PyTorch-style layers: thin constructors that create parameters and a short forward calling ops.
// Inputs are NCHW for the 2-D layers, as in PyTorch. Initialization follows PyTorch's defaults
// (kaiming_uniform with a = sqrt(5), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)), for weights and biases).
import { TensorboltError, fmtShape, fmtValue, checkOptions } from '../tensor/errors.js';
import { rand, zeros, ones } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { batchNorm } from '../ops/batchnorm.js';
import { flatten } from '../ops/reshape.js';
import { conv2d as conv2dOp, type FusedActivation } from '../ops/conv.js';
import { linear as linearOp } from '../ops/linear.js';
import { Module, parameter } from './module.js';
import * as F from './functional.js';

function uniformInit(shape: number[], fanIn: number): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return parameter(rand(shape, -bound, bound));
}

function checkInt(op: string, name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new TensorboltError(op, `${name} must be an integer${min === -Infinity ? '' : ` >= ${min}`}, got ${fmtValue(v)}`);
  return v;
}

function pair(op: string, name: string, v: number | [number, number], min = 1): [number, number] {
  const p: [number, number] = Array.isArray(v) ? v : [v, v];
  checkInt(op, name, p[0], min);
  checkInt(op, name, p[1], min);
  return p;
}

/** y = x Wᵀ + b; weight (out, in). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    checkOptions('Linear', opts);
    checkInt('Linear', 'inFeatures', inFeatures);
    checkInt('Linear', 'outFeatures', outFeatures);
    this.weight = uniformInit([outFeatures, inFeatures], inFeatures);
    this.bias = opts.bias === false ? null : uniformInit([outFeatures], inFeatures);
  }
  forward(x: Tensor): Tensor {
    return this.forwardAct(x, 'linear');
  }
  /** @internal forward with an activation fused into the same native pass (Sequential's Linear, ReLU). */
  forwardAct(x: Tensor, activation: FusedActivation): Tensor {
    if (!(x instanceof Tensor) || x.shape[x.rank - 1] !== this.inFeatures)
      throw new TensorboltError('Linear.forward', `expected input (..., ${this.inFeatures}), got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    return linearOp(x, this.weight, this.bias, { transposeWeight: true, activation });
  }
}

type Padding2d = number | [number, number] | 'same' | 'valid';
export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: Padding2d;
  bias?: boolean;
}

/**
 * The arguments after kernelSize: PyTorch's positional stride and padding, each optionally, then
 * an options object, or the options object alone. Dilation and groups (PyTorch's 6th and 7th) are
 * not supported, and saying so beats dropping them.
 */
function convOptions(rest: unknown[]): Conv2dOptions {
  const op = 'Conv2d';
  const isOpts = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const last = rest.length > 0 && (isOpts(rest[rest.length - 1]) || rest[rest.length - 1] === undefined) ? rest.length - 1 : rest.length;
  const positional = rest.slice(0, last);
  const opts = (rest[last] ?? {}) as Conv2dOptions;
  if (rest.length > last + 1 || positional.length > 2)
    throw new TensorboltError(op, `takes (inChannels, outChannels, kernelSize, stride?, padding?, options?); got ${rest.length + 3} arguments (dilation and groups are not supported)`);
  checkOptions(op, opts);
  for (const [i, k] of (['stride', 'padding'] as const).entries()) {
    if (positional[i] === undefined) continue;
    if (opts[k] !== undefined) throw new TensorboltError(op, `${k} is given twice: as argument ${i + 4} and in the options`);
    if (isOpts(positional[i])) throw new TensorboltError(op, `argument ${i + 4} (${k}) must be a number or a pair, got an object`);
  }
  return { ...opts, ...(positional[0] !== undefined ? { stride: positional[0] as number } : {}),
           ...(positional[1] !== undefined ? { padding: positional[1] as Padding2d } : {}) };
}

/**
 * 2-D convolution on NCHW; weight (OC, C, KH, KW). As in PyTorch, `new Conv2d(1, 32, 3, 1)` or
 * `new Conv2d(1, 32, 3, 1, 1)` (stride, padding), or `new Conv2d(1, 32, 3, { stride: 1, padding: 1 })`.
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], opts?: Conv2dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], stride: number | [number, number],
              padding?: Padding2d, opts?: Omit<Conv2dOptions, 'stride' | 'padding'>);
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | [number, number], ...rest: unknown[]) {
    super();
    const opts = convOptions(rest);
    checkInt('Conv2d', 'inChannels', inChannels);
    checkInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize);
    this.stride = pair('Conv2d', 'stride', opts.stride ?? 1);
    const p = opts.padding ?? 0;
    this.padding = typeof p === 'string' ? p : pair('Conv2d', 'padding', p, 0);
    const fanIn = inChannels * this.kernelSize[0] * this.kernelSize[1];
    this.weight = uniformInit([outChannels, inChannels, ...this.kernelSize], fanIn);
    this.bias = opts.bias === false ? null : uniformInit([outChannels], fanIn);
  }
  forward(x: Tensor): Tensor {
    return this.forwardAct(x, 'linear');
  }
  /** @internal forward with an activation fused into the same native pass (Sequential's Conv2d, ReLU). */
  forwardAct(x: Tensor, activation: FusedActivation): Tensor {
    if (!(x instanceof Tensor) || x.rank !== 4 || x.shape[1] !== this.inChannels)
      throw new TensorboltError('Conv2d.forward', `expected NCHW input (N, ${this.inChannels}, H, W), got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    return conv2dOp(x, this.weight, this.bias, { strides: this.stride, padding: this.padding, dataFormat: 'NCHW', activation });
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: number | [number, number], readonly stride?: number | [number, number], readonly padding = 0) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.stride, this.padding);
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: number | [number, number], readonly stride?: number | [number, number], readonly padding = 0) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.stride, this.padding);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new TensorboltError('Dropout', `p must be in [0, 1), got ${fmtValue(p)}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/** Batch norm over the channel axis 1 (N, C) or (N, C, H, W), PyTorch conventions (momentum 0.1, eps 1e-5). */
class BatchNormBase extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(readonly numFeatures: number, readonly opts: { eps?: number; momentum?: number; affine?: boolean } = {}, private readonly rank: number[]) {
    super();
    checkOptions(new.target.name, opts);
    checkInt(new.target.name, 'numFeatures', numFeatures);
    const affine = opts.affine !== false;
    this.weight = affine ? parameter(ones([numFeatures])) : null;
    this.bias = affine ? parameter(zeros([numFeatures])) : null;
    this.registerBuffer('runningMean', zeros([numFeatures]));
    this.registerBuffer('runningVar', ones([numFeatures]));
  }
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || !this.rank.includes(x.rank) || x.shape[1] !== this.numFeatures)
      throw new TensorboltError(`${this.constructor.name}.forward`, `expected input of rank ${this.rank.join(' or ')} with ${this.numFeatures} channels on axis 1, got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    return batchNorm(x, { gamma: this.weight, beta: this.bias, runningMean: this.buffer('runningMean'), runningVar: this.buffer('runningVar') },
      { training: this.training, momentum: this.opts.momentum ?? 0.1, eps: this.opts.eps ?? 1e-5, axis: 1 });
  }
}

export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: { eps?: number; momentum?: number; affine?: boolean } = {}) {
    super(numFeatures, opts, [2, 3]);
  }
}

export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: { eps?: number; momentum?: number; affine?: boolean } = {}) {
    super(numFeatures, opts, [4]);
  }
}

/** Merges axes startDim..endDim into one (PyTorch's defaults: 1 and -1, keeping the batch axis). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    checkInt('Flatten', 'startDim', startDim, -Infinity);
    checkInt('Flatten', 'endDim', endDim, -Infinity);
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/** Wraps a stateless function as a module (activations). */
class Fn extends Module {
  constructor(private readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export class ReLU extends Fn { constructor() { super(F.relu); } }
export class Sigmoid extends Fn { constructor() { super(F.sigmoid); } }
export class Tanh extends Fn { constructor() { super(F.tanh); } }
export class GELU extends Fn { constructor() { super((x) => F.gelu(x)); } }
export class ELU extends Fn { constructor(alpha = 1) { super((x) => F.elu(x, alpha)); } }
export class LeakyReLU extends Fn { constructor(negativeSlope = 0.01) { super((x) => F.leakyRelu(x, negativeSlope)); } }
export class Softplus extends Fn { constructor() { super(F.softplus); } }
export class Softmax extends Fn { constructor(dim = -1) { super((x) => F.softmax(x, dim)); } }
export class LogSoftmax extends Fn { constructor(dim = -1) { super((x) => F.logSoftmax(x, dim)); } }

// A Linear or Conv2d whose forward is the library's own (not a subclass's override), followed by a
// plain ReLU: Sequential runs the pair as one op with the ReLU fused into the product's native pass,
// gradients included. The same values as the two modules one after the other, without writing the
// pre-activation tensor and reading it back, forward and backward (a pass over the CNN's 19 MB
// activations each way).
function fusesWithRelu(l: Module, next: Module | undefined): l is Linear | Conv2d {
  return next !== undefined && next.constructor === ReLU &&
    ((l instanceof Linear && l.forward === Linear.prototype.forward) || (l instanceof Conv2d && l.forward === Conv2d.prototype.forward));
}

/** Runs modules in order (a Linear or Conv2d followed by a ReLU runs as one fused op). */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    for (const [i, l] of layers.entries())
      if (!(l instanceof Module)) throw new TensorboltError('Sequential', `argument ${i} is not a Module`);
    this.layers = layers;
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      if (fusesWithRelu(l, this.layers[i + 1])) {
        h = l.forwardAct(h, 'relu');
        i++;
        continue;
      }
      const out = l.forward(h);
      if (!(out instanceof Tensor))
        throw new TensorboltError('Sequential', `module ${i} (${l.constructor.name}) returned ${Array.isArray(out) ? 'an array' : typeof out}, not one Tensor: nn.Sequential passes one tensor from module to module (take the output of a recurrent layer with a small module of your own)`);
      h = out;
    }
    return h;
  }
  override namedChildren(): [string, Module][] {
    return this.layers.map((l, i) => [String(i), l]);
  }
}
