// Shape arithmetic: sizes, strides, broadcasting, axis normalization. All validation of user shapes
// happens here or in the ops, never in native code.
import { TensorboltError, fmtShape, fmtValue } from './errors.js';

export type Shape = readonly number[];

export const MAX_RANK = 8;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new TensorboltError(op, `shape must be an array of sizes, got ${typeof shape}`);
  if (shape.length > MAX_RANK) throw new TensorboltError(op, `rank ${shape.length} exceeds the maximum ${MAX_RANK}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new TensorboltError(op, `shape ${fmtValue(shape)} must hold non-negative integers`);
  }
  return shape.slice() as number[];
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw new TensorboltError(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together`);
  }
  return out;
}

/** Element strides of `shape` viewed as `outShape` (right-aligned; 0 on broadcast axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): Int32Array {
  const st = stridesOf(shape);
  const r = new Int32Array(outShape.length);
  const off = outShape.length - shape.length;
  for (let i = 0; i < outShape.length; i++) {
    const j = i - off;
    r[i] = j < 0 || shape[j] === 1 ? 0 : st[j]!;
  }
  return r;
}

/** Normalizes a possibly negative axis into [0, rank). */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis)) throw new TensorboltError(op, `axis must be an integer, got ${fmtValue(axis)}`);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new TensorboltError(op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normAxes(op: string, axis: number | number[] | undefined | null, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  const out = list.map((a) => normAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new TensorboltError(op, `axes ${fmtValue(axis)} repeat an axis`);
  return out.sort((x, y) => x - y);
}

/** Splits shape around `axis` into (outer, dim, inner) for kernels that work along one axis. */
export function outerDimInner(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return [outer, shape[axis]!, inner];
}
