// Per-sample image transforms for data augmentation. An image is a flat Float32Array in (H, W, C)
// row-major order (channels last, as the datasets and conv layers use). Every transform returns a
// new image of the same shape; given `out`, it writes there instead of allocating (the DataLoader
// passes the batch row, so augmentation allocates nothing per sample).
//
// Randomness: a transform built with { rng } or { seed } draws from its own generator; otherwise
// from the generator its caller passes (the DataLoader passes its own, seeded one), else from the
// global one (tb.setSeed).
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Random, globalRandom } from '../tensor/random.js';
import { applyNormalize, checkStats } from './channels.js';

/** (x, shape, rng?, out?) => the transformed sample, shaped like x. */
export type Transform = (x: Float32Array, shape: readonly number[], rng?: Random, out?: Float32Array) => Float32Array;

export interface RandomSource {
  /** Draw from this generator. */
  rng?: Random;
  /** Draw from a new generator seeded with this (ignored when rng is given). */
  seed?: number;
}

function ownRng(opts: RandomSource): Random | undefined {
  if (opts.rng !== undefined) {
    if (!(opts.rng instanceof Random)) throw new TensorboltError('transforms', 'rng must be a tb.Random');
    return opts.rng;
  }
  return opts.seed !== undefined ? new Random(opts.seed) : undefined;
}

/** Validates an (H, W, C) image and the optional destination; returns [H, W, C, out]. */
function image(op: string, x: Float32Array, shape: readonly number[], out?: Float32Array): [number, number, number, Float32Array] {
  if (!(x instanceof Float32Array)) throw new TensorboltError(op, `expected a Float32Array image, got ${x === null ? 'null' : typeof x}`);
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new TensorboltError(op, `expected an image shape [H, W, C], got ${fmtValue(shape)}`);
  const [h, w, c] = shape as [number, number, number];
  if (x.length !== h * w * c) throw new TensorboltError(op, `image of ${x.length} values does not fit shape ${fmtShape(shape)}`);
  const dst = out ?? new Float32Array(x.length);
  if (dst.length !== x.length) throw new TensorboltError(op, `out has ${dst.length} values, the image ${x.length}`);
  if (dst.buffer === x.buffer && dst.byteOffset < x.byteOffset + x.byteLength && x.byteOffset < dst.byteOffset + dst.byteLength)
    throw new TensorboltError(op, 'out must not overlap the input image');
  return [h, w, c, dst];
}

/**
 * Translates the image by (dy, dx) whole pixels (positive dy moves content down, positive dx right);
 * uncovered pixels get `fill`.
 */
export function shiftImage(x: Float32Array, shape: readonly number[], dy: number, dx: number, fill = 0, out?: Float32Array): Float32Array {
  const op = 'shiftImage';
  const [h, w, c, dst] = image(op, x, shape, out);
  if (!Number.isInteger(dy) || !Number.isInteger(dx)) throw new TensorboltError(op, `shifts must be integers, got dy=${dy}, dx=${dx}`);
  const x0 = Math.min(w, Math.max(0, dx)); // first destination column with a source
  const x1 = Math.max(0, Math.min(w, w + dx)); // one past the last
  const rowLen = w * c;
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    const o = y * rowLen;
    if (sy < 0 || sy >= h || x1 <= x0) {
      dst.fill(fill, o, o + rowLen);
      continue;
    }
    dst.fill(fill, o, o + x0 * c);
    dst.set(x.subarray(sy * rowLen + (x0 - dx) * c, sy * rowLen + (x1 - dx) * c), o + x0 * c);
    dst.fill(fill, o + x1 * c, o + rowLen);
  }
  return dst;
}

export interface RandomShiftOptions extends RandomSource {
  /**
   * Largest shift: whole pixels when >= 1, a fraction of the height/width when in (0, 1) (as
   * Keras' width_shift_range); [vertical, horizontal] to set each.
   */
  maxShift: number | [number, number];
  fill?: number;
}

/** Shifts each image by a uniformly drawn whole-pixel offset in [-maxShift, maxShift] per axis. */
export function randomShift(opts: RandomShiftOptions): Transform {
  const op = 'randomShift';
  if (!opts || opts.maxShift === undefined) throw new TensorboltError(op, 'needs { maxShift }');
  const [my, mx] = Array.isArray(opts.maxShift) ? opts.maxShift : [opts.maxShift, opts.maxShift];
  for (const m of [my, mx])
    if (typeof m !== 'number' || !Number.isFinite(m) || m < 0 || (m >= 1 && !Number.isInteger(m)))
      throw new TensorboltError(op, `maxShift must be a whole number of pixels or a fraction in [0, 1), got ${fmtValue(opts.maxShift)}`);
  const fill = opts.fill ?? 0;
  const own = ownRng(opts);
  const pixels = (m: number, size: number) => (m >= 1 ? Math.min(m, size) : Math.round(m * size));
  return (x, shape, rng, out) => {
    const r = own ?? rng ?? globalRandom;
    const sy = pixels(my, shape[0] ?? 0);
    const sx = pixels(mx, shape[1] ?? 0);
    return shiftImage(x, shape, r.int(-sy, sy + 1), r.int(-sx, sx + 1), fill, out);
  };
}

export interface RotateOptions {
  /** 'bilinear' (default) or 'nearest'. */
  interpolation?: 'bilinear' | 'nearest';
  fill?: number;
}

/**
 * Rotates the image counter-clockwise (as displayed, rows going down) by `degrees` about its centre;
 * pixels whose source lies outside the image get `fill`.
 */
export function rotateImage(x: Float32Array, shape: readonly number[], degrees: number, opts: RotateOptions = {}, out?: Float32Array): Float32Array {
  const op = 'rotateImage';
  const [h, w, c, dst] = image(op, x, shape, out);
  if (typeof degrees !== 'number' || !Number.isFinite(degrees)) throw new TensorboltError(op, `degrees must be a finite number, got ${fmtValue(degrees)}`);
  const interp = opts.interpolation ?? 'bilinear';
  if (interp !== 'bilinear' && interp !== 'nearest')
    throw new TensorboltError(op, `interpolation must be 'bilinear' or 'nearest', got ${fmtValue(interp)}`);
  const fill = opts.fill ?? 0;
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  // Exact source coordinates such as 12.999999999999998 (from cos(90deg) != 0) snap to the integer,
  // so quarter turns copy pixels instead of blending them with their neighbours.
  const snap = (v: number) => {
    const r = Math.round(v);
    return Math.abs(v - r) < 1e-9 ? r : v;
  };
  const at = (yy: number, xx: number, ch: number) => (yy >= 0 && yy < h && xx >= 0 && xx < w ? x[(yy * w + xx) * c + ch]! : fill);
  for (let y = 0; y < h; y++) {
    const v = y - cy;
    for (let xo = 0; xo < w; xo++) {
      const u = xo - cx;
      // Inverse map: the destination (u, v) takes its value from the source rotated back by -t.
      const sx = snap(cx + u * cos - v * sin);
      const sy = snap(cy + u * sin + v * cos);
      const o = (y * w + xo) * c;
      if (interp === 'nearest') {
        const ix = Math.round(sx);
        const iy = Math.round(sy);
        for (let ch = 0; ch < c; ch++) dst[o + ch] = at(iy, ix, ch);
        continue;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      if (x0 < -1 || x0 >= w || y0 < -1 || y0 >= h) {
        for (let ch = 0; ch < c; ch++) dst[o + ch] = fill;
        continue;
      }
      for (let ch = 0; ch < c; ch++) {
        const top = fx === 0 ? at(y0, x0, ch) : at(y0, x0, ch) * (1 - fx) + at(y0, x0 + 1, ch) * fx;
        const bot = fy === 0 ? 0 : fx === 0 ? at(y0 + 1, x0, ch) : at(y0 + 1, x0, ch) * (1 - fx) + at(y0 + 1, x0 + 1, ch) * fx;
        dst[o + ch] = fy === 0 ? top : top * (1 - fy) + bot * fy;
      }
    }
  }
  return dst;
}

export interface RandomRotationOptions extends RotateOptions, RandomSource {
  /** Largest rotation in degrees; each image turns by a uniform angle in [-maxDegrees, maxDegrees]. */
  maxDegrees: number;
}

export function randomRotation(opts: RandomRotationOptions): Transform {
  const op = 'randomRotation';
  if (!opts || typeof opts.maxDegrees !== 'number' || !Number.isFinite(opts.maxDegrees) || opts.maxDegrees < 0)
    throw new TensorboltError(op, `maxDegrees must be a non-negative number, got ${fmtValue(opts?.maxDegrees)}`);
  const own = ownRng(opts);
  const { maxDegrees } = opts;
  const ropts: RotateOptions = { interpolation: opts.interpolation ?? 'bilinear', fill: opts.fill ?? 0 };
  return (x, shape, rng, out) => {
    const r = own ?? rng ?? globalRandom;
    return rotateImage(x, shape, (2 * r.uniform() - 1) * maxDegrees, ropts, out);
  };
}

/** Per-channel (x - mean) / std over the last axis; scalars apply to every channel. */
export function normalize(opts: { mean: number | readonly number[]; std: number | readonly number[] }): Transform {
  const op = 'transforms.normalize';
  const mean = typeof opts?.mean === 'number' ? [opts.mean] : opts?.mean;
  const std = typeof opts?.std === 'number' ? [opts.std] : opts?.std;
  checkStats(op, mean, std);
  return (x, shape, _rng, out) => {
    const c = shape[shape.length - 1] ?? 1;
    if (mean.length !== 1 && mean.length !== c)
      throw new TensorboltError(op, `${mean.length} means for ${c} channels (shape ${fmtShape(shape)})`);
    const dst = out ?? new Float32Array(x.length);
    applyNormalize(x, dst, c, mean, std);
    return dst;
  };
}

/** Applies the transforms in order. */
export function compose(...transforms: Transform[]): Transform {
  transforms.forEach((t, i) => {
    if (typeof t !== 'function') throw new TensorboltError('compose', `argument ${i} is not a transform (got ${typeof t})`);
  });
  return (x, shape, rng, out) => {
    if (transforms.length === 0) {
      const dst = out ?? new Float32Array(x.length);
      dst.set(x);
      return dst;
    }
    let cur = x;
    for (let i = 0; i < transforms.length; i++) {
      // Only the last step may write into out: earlier results are read by the next step.
      cur = transforms[i]!(cur, shape, rng, i === transforms.length - 1 ? out : undefined);
      if (cur.length !== x.length)
        throw new TensorboltError('compose', `transform ${i} returned ${cur.length} values for an image of ${x.length}`);
    }
    return cur;
  };
}
