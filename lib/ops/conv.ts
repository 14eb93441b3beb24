// 2-D convolution (im2col + GEMM in native/cpu/conv2d.cc) and its gradients, in the Keras/TF.js
// layout (NHWC, weight (KH, KW, C, OC)) or the PyTorch layout (NCHW, weight (OC, C, KH, KW)).
// Also the window arithmetic (output sizes, 'same' padding) that pooling shares.
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { checkShape } from '../tensor/shape.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { backendOf, describe, fusedActivationCode, i32, requireFloat, requireRank, tensorArg, type FusedActivation } from './util.js';

export type { FusedActivation } from './util.js';

export type DataFormat = 'NHWC' | 'NCHW';
/**
 * 'valid': no padding. 'same': TensorFlow's rule: output ceil(in / stride), total padding
 * max((out - 1) * stride + k - in, 0), the smaller half before (top/left). A number p (or [ph, pw]):
 * p zeros on both sides, as PyTorch; p must be smaller than the kernel.
 */
export type Padding = 'valid' | 'same' | number | [number, number];

export interface Conv2dOptions {
  /** Stride along height and width (default 1). */
  strides?: number | [number, number];
  padding?: Padding;
  /** 'NHWC' (default; weight (KH, KW, C, OC)) or 'NCHW' (weight (OC, C, KH, KW)). */
  dataFormat?: DataFormat;
  /**
   * An activation applied to the output in the same native pass: 'relu' or 'linear' (none, the
   * default). conv2d(x, w, b, { activation: 'relu' }) equals relu(conv2d(x, w, b)), gradients
   * included, without a second pass over the output and its gradient.
   */
  activation?: FusedActivation;
}

/** How a window slides along one axis. */
export interface WindowAxis {
  out: number;
  /** Zeros before the input (top or left); those after are implied by out. */
  padBefore: number;
  padAfter: number;
}

function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 0x7fffffff;
}

/**
 * Output size and padding along one axis, or out = 0 when the kernel does not fit the padded input.
 * Throws (naming op) on malformed arguments.
 */
export function windowAxis(op: string, inSize: number, kernel: number, stride: number, padding: 'valid' | 'same' | number): WindowAxis {
  if (!isCount(inSize, 0)) throw new TensorboltError(op, `input size must be a non-negative integer, got ${describe(inSize)}`);
  if (!isCount(kernel, 1)) throw new TensorboltError(op, `kernel size must be a positive integer, got ${describe(kernel)}`);
  if (!isCount(stride, 1)) throw new TensorboltError(op, `stride must be a positive integer, got ${describe(stride)}`);
  if (padding === 'valid') return { out: inSize >= kernel ? Math.floor((inSize - kernel) / stride) + 1 : 0, padBefore: 0, padAfter: 0 };
  if (padding === 'same') {
    const out = Math.ceil(inSize / stride);
    const total = Math.max((out - 1) * stride + kernel - inSize, 0);
    return { out, padBefore: Math.floor(total / 2), padAfter: total - Math.floor(total / 2) };
  }
  if (!isCount(padding, 0))
    throw new TensorboltError(op, `padding must be 'valid', 'same' or a non-negative integer, got ${describe(padding)}`);
  if (padding >= kernel)
    throw new TensorboltError(op, `padding ${padding} must be smaller than the kernel size ${kernel}`);
  const span = inSize + 2 * padding;
  return { out: span >= kernel ? Math.floor((span - kernel) / stride) + 1 : 0, padBefore: padding, padAfter: padding };
}

/**
 * Output length of a convolution or pooling window along one axis (TensorFlow/PyTorch arithmetic):
 * 'valid' floor((in - k) / s) + 1, 'same' ceil(in / s), integer p floor((in + 2p - k) / s) + 1.
 * Returns 0 when the kernel does not fit the padded input.
 */
export function convOutputSize(inSize: number, kernelSize: number, stride = 1, padding: 'valid' | 'same' | number = 'valid'): number {
  return windowAxis('convOutputSize', inSize, kernelSize, stride, padding).out;
}

/** [h, w] from a number or a pair of positive integers. */
export function pair(op: string, v: unknown, name: string): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !isCount(p[0], 1) || !isCount(p[1], 1))
    throw new TensorboltError(op, `${typeof name === 'string' ? name : fmtValue(name)} must be a positive integer or a pair of them, got ${fmtValue(v)}`);
  return [p[0], p[1]];
}

/** Per-axis padding spec from 'valid' | 'same' | p | [ph, pw]. */
export function paddingPair(op: string, padding: unknown): ['valid' | 'same' | number, 'valid' | 'same' | number] {
  if (padding === 'valid' || padding === 'same') return [padding, padding];
  if (typeof padding === 'number') return [padding, padding];
  if (Array.isArray(padding) && padding.length === 2 && typeof padding[0] === 'number' && typeof padding[1] === 'number')
    return [padding[0], padding[1]];
  throw new TensorboltError(op, `padding must be 'valid', 'same', a non-negative integer or a pair of them, got ${fmtValue(padding)}`);
}

export function dataFormatArg(op: string, f: unknown): DataFormat {
  if (f === undefined) return 'NHWC';
  if (f !== 'NHWC' && f !== 'NCHW') throw new TensorboltError(op, `dataFormat must be 'NHWC' or 'NCHW', got ${fmtValue(f)}`);
  return f;
}

/** [n, c, h, w] of a rank-4 activation in the given layout. */
export function nchwOf(shape: readonly number[], fmt: DataFormat): [number, number, number, number] {
  if (!Array.isArray(shape) || shape.length !== 4) throw new TensorboltError('nchwOf', `expects a rank-4 shape, got ${fmtValue(shape)}`);
  const [a, b, c, d] = shape as [number, number, number, number];
  return fmt === 'NHWC' ? [a, d, b, c] : [a, b, c, d];
}

export function activationShape(n: number, c: number, h: number, w: number, fmt: DataFormat): number[] {
  return fmt === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
}

interface ConvPlan {
  dims: Int32Array;
  outShape: number[];
}

function planConv(op: string, x: Tensor, weight: Tensor, opts: Conv2dOptions): ConvPlan {
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${describe(opts)}`);
  const fmt = dataFormatArg(op, opts.dataFormat);
  const [sh, sw] = pair(op, opts.strides ?? 1, 'strides');
  const [ph, pw] = paddingPair(op, opts.padding ?? 'valid');
  requireRank(op, x, 4, `x (${fmt === 'NHWC' ? 'N, H, W, C' : 'N, C, H, W'})`);
  requireRank(op, weight, 4, `weight (${fmt === 'NHWC' ? 'KH, KW, C, OC' : 'OC, C, KH, KW'})`);
  const [n, c, h, w] = nchwOf(x.shape, fmt);
  const [kh, kw, wc, oc] = fmt === 'NHWC'
    ? (weight.shape as [number, number, number, number])
    : ([weight.shape[2], weight.shape[3], weight.shape[1], weight.shape[0]] as [number, number, number, number]);
  if (wc !== c)
    throw new TensorboltError(op, `x ${fmtShape(x.shape)} has ${c} channels but weight ${fmtShape(weight.shape)} expects ${wc} ` +
      `(${fmt} weight is ${fmt === 'NHWC' ? '(KH, KW, C, OC)' : '(OC, C, KH, KW)'})`);
  if (c === 0 || h === 0 || w === 0 || oc === 0 || kh === 0 || kw === 0)
    throw new TensorboltError(op, `x ${fmtShape(x.shape)} and weight ${fmtShape(weight.shape)} must have non-zero channels, spatial sizes and kernel`);
  const ay = windowAxis(op, h, kh, sh, ph);
  const ax = windowAxis(op, w, kw, sw, pw);
  if (ay.out < 1 || ax.out < 1)
    throw new TensorboltError(op, `kernel ${kh}x${kw} is larger than the padded input ${h + ay.padBefore + ay.padAfter}x${w + ax.padBefore + ax.padAfter} ` +
      `(x ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}, padding ${fmtValue(opts.padding ?? 'valid')})`);
  return {
    dims: i32([n, c, h, w, oc, kh, kw, ay.out, ax.out, sh, sw, ay.padBefore, ax.padBefore, fmt === 'NHWC' ? 1 : 0]),
    outShape: activationShape(n, oc, ay.out, ax.out, fmt),
  };
}

/** Output shape of conv2d(x, weight, ...) without running it (throws like conv2d on bad shapes). */
export function conv2dOutputShape(xShape: readonly number[], weightShape: readonly number[], opts: Conv2dOptions = {}): number[] {
  const op = 'conv2d';
  const fake = (s: readonly number[]): Tensor => {
    const c = checkShape(op, s);
    return { shape: c, rank: c.length } as unknown as Tensor;
  };
  return planConv(op, fake(xShape), fake(weightShape), opts).outShape;
}

/**
 * 2-D cross-correlation (what every framework calls convolution), dilation 1, with gradients to x,
 * weight and bias. x is (N, H, W, C) with weight (KH, KW, C, OC) for 'NHWC' (the default), or
 * (N, C, H, W) with weight (OC, C, KH, KW) for 'NCHW'; bias (OC) or null.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  tensorArg(op, x, 'x');
  tensorArg(op, weight, 'weight');
  requireFloat(op, x, 'x');
  requireFloat(op, weight, 'weight');
  const plan = planConv(op, x, weight, opts);
  const act = fusedActivationCode(op, opts.activation);
  const oc = plan.dims[4]!;
  if (bias !== null && bias !== undefined) {
    tensorArg(op, bias, 'bias');
    requireFloat(op, bias, 'bias');
    if (bias.rank !== 1 || bias.shape[0] !== oc)
      throw new TensorboltError(op, `bias must have shape [${oc}] (the output channels of weight ${fmtShape(weight.shape)}), got ${fmtShape(bias.shape)}`);
  } else {
    bias = null;
  }
  const g = backendOf(op, x, weight, bias);
  const out = empty(g, plan.outShape);
  g.conv2d(x.f32(op), weight.f32(op), bias ? bias.f32(op) : null, out.f32(op), plan.dims, act);
  const b = bias;
  const inputs = b ? [x, weight, b] : [x, weight];
  // With a fused ReLU the backward reads the output (alive whenever this runs: disposing it drops the node).
  return record(op, out, inputs, (dy) => {
    const dx = x.requiresGrad ? empty(g, x.shape) : null;
    const dw = weight.requiresGrad ? empty(g, weight.shape) : null;
    const db = b && b.requiresGrad ? empty(g, b.shape) : null;
    g.conv2dBackward(x.f32(op), weight.f32(op), dy.f32(op), dx ? dx.f32(op) : null, dw ? dw.f32(op) : null,
      db ? db.f32(op) : null, plan.dims, act ? out.f32(op) : null, act);
    return b ? [dx, dw, db] : [dx, dw];
  });
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    conv2d(weight: Tensor, bias?: Tensor | null, opts?: Conv2dOptions): Tensor;
  }
}
Tensor.prototype.conv2d = function (weight: Tensor, bias?: Tensor | null, opts?: Conv2dOptions) {
  return conv2d(this, weight, bias ?? null, opts);
};
