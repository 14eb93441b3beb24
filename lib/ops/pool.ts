// 2-D max and average pooling (native/cpu/pool2d.cc) and their gradients, NHWC or NCHW; global
// pooling is the same kernel with one window covering the whole image.
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { activationShape, dataFormatArg, nchwOf, pair, paddingPair, windowAxis, type DataFormat } from './conv.js';
import { describe, i32, requireFloat, requireRank, tensorArg } from './util.js';

export interface Pool2dOptions {
  /** Window height and width. */
  poolSize: number | [number, number];
  /** Default: poolSize (non-overlapping windows), as Keras and PyTorch. */
  strides?: number | [number, number];
  /**
   * 'valid' (default), 'same' (TensorFlow's rule) or p / [ph, pw] zeros each side with
   * p <= poolSize / 2 (PyTorch's limit). Padding cells are never the max and never counted in an
   * average (Keras 'same'; PyTorch's count_include_pad=False).
   */
  padding?: 'valid' | 'same' | number | [number, number];
  /** 'NHWC' (default) or 'NCHW'. */
  dataFormat?: DataFormat;
}

interface PoolPlan {
  dims: Int32Array;
  outShape: number[];
}

function planPool(op: string, x: Tensor, opts: Pool2dOptions): PoolPlan {
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object with poolSize, got ${describe(opts)}`);
  const fmt = dataFormatArg(op, opts.dataFormat);
  const [kh, kw] = pair(op, opts.poolSize, 'poolSize');
  const [sh, sw] = pair(op, opts.strides ?? [kh, kw], 'strides');
  const [ph, pw] = paddingPair(op, opts.padding ?? 'valid');
  for (const [p, k] of [[ph, kh], [pw, kw]] as const)
    if (typeof p === 'number' && p > k / 2)
      throw new TensorboltError(op, `padding ${p} must be at most half the pool size ${k}`);
  requireRank(op, x, 4, `x (${fmt === 'NHWC' ? 'N, H, W, C' : 'N, C, H, W'})`);
  const [n, c, h, w] = nchwOf(x.shape, fmt);
  if (c === 0 || h === 0 || w === 0)
    throw new TensorboltError(op, `x ${fmtShape(x.shape)} must have non-zero channels and spatial sizes (${fmt})`);
  const ay = windowAxis(op, h, kh, sh, ph);
  const ax = windowAxis(op, w, kw, sw, pw);
  if (ay.out < 1 || ax.out < 1)
    throw new TensorboltError(op, `pool window ${kh}x${kw} is larger than the padded input ${h + ay.padBefore + ay.padAfter}x${w + ax.padBefore + ax.padAfter} (x ${fmtShape(x.shape)}, ${fmt})`);
  return {
    dims: i32([n, c, h, w, ay.out, ax.out, kh, kw, sh, sw, ay.padBefore, ax.padBefore, fmt === 'NHWC' ? 1 : 0]),
    outShape: activationShape(n, c, ay.out, ax.out, fmt),
  };
}

function checkInput(op: string, x: Tensor): void {
  tensorArg(op, x, 'x');
  requireFloat(op, x, 'x');
}

function maxPoolWith(op: string, x: Tensor, plan: PoolPlan, outShape: number[]): Tensor {
  const g = x._be;
  const out = empty(g, outShape);
  const argmax = empty(g, outShape, 'int32');
  g.maxPool2d(x.f32(op), out.f32(op), argmax.i32(op), plan.dims);
  return record(op, out, [x], (dy) => {
    const dx = empty(g, x.shape);
    g.maxPool2dBackward(dy.f32(op), argmax.i32(op), dx.f32(op), plan.dims);
    return [dx];
  }, [argmax]);
}

function avgPoolWith(op: string, x: Tensor, plan: PoolPlan, outShape: number[]): Tensor {
  const g = x._be;
  const out = empty(g, outShape);
  g.avgPool2d(x.f32(op), out.f32(op), plan.dims);
  return record(op, out, [x], (dy) => {
    const dx = empty(g, x.shape);
    g.avgPool2dBackward(dy.f32(op), dx.f32(op), plan.dims);
    return [dx];
  });
}

/** Max over each window; the gradient flows to the (first) maximum of each window. */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const op = 'maxPool2d';
  checkInput(op, x);
  const plan = planPool(op, x, opts);
  return maxPoolWith(op, x, plan, plan.outShape);
}

/** Mean over each window's cells inside the input. */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const op = 'avgPool2d';
  checkInput(op, x);
  const plan = planPool(op, x, opts);
  return avgPoolWith(op, x, plan, plan.outShape);
}

// One window over the whole image; its (N, 1, 1, C) or (N, C, 1, 1) output is laid out as (N, C).
function globalPlan(op: string, x: Tensor, dataFormat: unknown): PoolPlan {
  checkInput(op, x);
  const fmt = dataFormatArg(op, dataFormat);
  requireRank(op, x, 4, `x (${fmt === 'NHWC' ? 'N, H, W, C' : 'N, C, H, W'})`);
  const [, , h, w] = nchwOf(x.shape, fmt);
  return planPool(op, x, { poolSize: [h, w], dataFormat: fmt });
}

/** Mean over H and W: (N, C) (Keras GlobalAveragePooling2D). */
export function globalAvgPool2d(x: Tensor, dataFormat: DataFormat = 'NHWC'): Tensor {
  const op = 'globalAvgPool2d';
  const plan = globalPlan(op, x, dataFormat);
  return avgPoolWith(op, x, plan, [plan.dims[0]!, plan.dims[1]!]);
}

/** Max over H and W: (N, C) (Keras GlobalMaxPooling2D). */
export function globalMaxPool2d(x: Tensor, dataFormat: DataFormat = 'NHWC'): Tensor {
  const op = 'globalMaxPool2d';
  const plan = globalPlan(op, x, dataFormat);
  return maxPoolWith(op, x, plan, [plan.dims[0]!, plan.dims[1]!]);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    maxPool2d(opts: Pool2dOptions): Tensor;
    avgPool2d(opts: Pool2dOptions): Tensor;
  }
}
Tensor.prototype.maxPool2d = function (opts: Pool2dOptions) { return maxPool2d(this, opts); };
Tensor.prototype.avgPool2d = function (opts: Pool2dOptions) { return avgPool2d(this, opts); };
