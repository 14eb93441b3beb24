// Elementwise ops: broadcasting arithmetic (add, sub, mul, div, pow, maximum, minimum), comparisons
// (float32 1/0 results, no gradient), unary math, clip and where. Shapes broadcast as in NumPy;
// the kernels get per-output-axis strides (0 on a broadcast axis) and reduce gradients back to each
// operand's own shape.
import { BinaryOp, UnaryOp, type BinaryOpName, type UnaryOpName } from '../native/opcodes.js';
import { record } from '../tensor/autograd.js';
import type { TensorLike } from '../tensor/creation.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import { broadcastShapes, broadcastStrides, shapesEqual, type Shape } from '../tensor/shape.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { backendOf, i32, numberArg, operand, requireFloat, type OpBackend } from './util.js';

// ---- helpers ----

/**
 * Converts arguments to tensors, constants on the tensor arguments' device. Constants made here come
 * back in `owned`: save or dispose them.
 */
function operandsOf(op: string, args: readonly (readonly [unknown, string])[]): { ts: Tensor[]; owned: Tensor[] } {
  const ts: Tensor[] = [];
  const owned: Tensor[] = [];
  const device = (args.find(([x]) => x instanceof Tensor)?.[0] as Tensor | undefined)?.device;
  try {
    for (const [x, name] of args) {
      const o = operand(op, x as TensorLike, name, device);
      ts.push(o.t);
      if (o.owned) owned.push(o.t);
    }
  } catch (e) {
    for (const t of owned) t.dispose();
    // tensor() names itself in errors about a ragged array: say which op and argument it was.
    if (e instanceof TensorboltError && e.op !== op) throw new TensorboltError(op, `${args[ts.length]![1]}: ${e.message}`);
    throw e;
  }
  return { ts, owned };
}

/** Runs fn; on a throw, disposes the temporaries first so a rejected call leaks nothing. */
function guarded<T>(temps: Tensor[], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    for (const t of temps) t.dispose();
    throw e;
  }
}

/** g (shape outShape) summed over the axes that `shape` broadcasts; g itself when nothing is summed. */
function sumTo(be: OpBackend, g: Tensor, shape: Shape, outShape: Shape, op: string): Tensor {
  if (shapesEqual(shape, outShape)) return g;
  const r = empty(be, shape);
  be.sumToStrides(g.f32(op), i32(outShape), r.f32(op), broadcastStrides(shape, outShape));
  return r;
}

/** A float32 copy of an int32 tensor (comparisons and where's condition accept int32). */
function asFloat(be: OpBackend, t: Tensor): Tensor {
  if (t.dtype === 'float32') return t;
  const f = empty(be, t.shape);
  be.cast(t.buf('cast'), f.f32('cast'));
  return f;
}

// ---- broadcasting binary ops ----

function binary(op: BinaryOpName, aIn: TensorLike, bIn: TensorLike): Tensor {
  const { ts: [a, b], owned } = operandsOf(op, [[aIn, 'a'], [bIn, 'b']]);
  const outShape = guarded(owned, () => {
    requireFloat(op, a!, 'a');
    requireFloat(op, b!, 'b');
    return broadcastShapes(op, a!.shape, b!.shape);
  });
  return binaryCore(op, a!, b!, outShape, owned);
}

function binaryCore(op: BinaryOpName, a: Tensor, b: Tensor, outShape: number[], owned: Tensor[]): Tensor {
  const be = guarded(owned, () => backendOf(op, a, b));
  const code = BinaryOp[op];
  const as = broadcastStrides(a.shape, outShape);
  const bs = broadcastStrides(b.shape, outShape);
  const os = i32(outShape);
  const out = empty(be, outShape);
  be.binary(code, a.f32(op), as, b.f32(op), bs, out.f32(op), os);
  return record(op, out, [a, b], (dy) => {
    if (op === 'add' || op === 'sub') {
      // Needs no operand values: a plain broadcast reduction (and a sign flip for sub's b).
      const da = a.requiresGrad ? sumTo(be, dy, a.shape, outShape, op) : null;
      let db: Tensor | null = null;
      if (b.requiresGrad) {
        db = sumTo(be, dy, b.shape, outShape, op);
        if (op === 'sub') {
          const neg = db === dy ? empty(be, b.shape) : db;
          be.unary(UnaryOp.neg, db.f32(op), neg.f32(op), 0, 0);
          db = neg;
        }
      }
      return [da, db];
    }
    const da = a.requiresGrad ? empty(be, a.shape) : null;
    const db = b.requiresGrad ? empty(be, b.shape) : null;
    be.binaryBackward(code, a.f32(op), as, b.f32(op), bs, dy.f32(op), os, da ? da.f32(op) : null, db ? db.f32(op) : null);
    return [da, db];
  }, owned);
}

/** a + b, broadcasting. */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary('add', a, b);
}

/** a - b, broadcasting. */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary('sub', a, b);
}

/** a * b, broadcasting. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary('mul', a, b);
}

/** a / b, broadcasting (IEEE: x/0 is ±Infinity, 0/0 is NaN). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return binary('div', a, b);
}

/**
 * a ** b, broadcasting. Gradients: b·a^(b-1) for a, a^b·log(a) for b, where the latter is defined
 * as 0 for a <= 0 (tfjs's convention) instead of NaN. A plain-number exponent takes the unary path.
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number') return unary('pow', 'powScalar', a, b, 0);
  return binary('pow', a, b);
}

/** Elementwise larger of a and b; on ties the gradient goes to a. NaN in either gives NaN. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binary('maximum', a, b);
}

/** Elementwise smaller of a and b; on ties the gradient goes to a. NaN in either gives NaN. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binary('minimum', a, b);
}

// ---- comparisons ----

/** Comparisons give float32 1/0 and no gradient. int32 operands are compared after a cast to float32. */
function compare(code: BinaryOpName, aIn: TensorLike, bIn: TensorLike, op: string = code): Tensor {
  const { ts: [a0, b0], owned } = operandsOf(op, [[aIn, 'a'], [bIn, 'b']]);
  const outShape = guarded(owned, () => broadcastShapes(op, a0!.shape, b0!.shape));
  const be = guarded(owned, () => backendOf(op, a0!, b0!));
  const a = asFloat(be, a0!);
  const b = asFloat(be, b0!);
  const out = empty(be, outShape);
  be.binary(BinaryOp[code], a.f32(op), broadcastStrides(a.shape, outShape), b.f32(op),
            broadcastStrides(b.shape, outShape), out.f32(op), i32(outShape));
  if (a !== a0) a.dispose();
  if (b !== b0) b.dispose();
  for (const t of owned) t.dispose();
  return out;
}

/** 1 where a == b, else 0 (float32, broadcasting): torch.eq, tf.equal. (tb.equal is torch.equal.) */
export function eq(a: TensorLike, b: TensorLike): Tensor {
  return compare('equal', a, b, 'eq');
}
/** 1 where a != b, else 0. */
export function notEqual(a: TensorLike, b: TensorLike): Tensor {
  return compare('notEqual', a, b);
}
/** 1 where a > b, else 0. */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return compare('greater', a, b);
}
/** 1 where a >= b, else 0. */
export function greaterEqual(a: TensorLike, b: TensorLike): Tensor {
  return compare('greaterEqual', a, b);
}
/** 1 where a < b, else 0. */
export function less(a: TensorLike, b: TensorLike): Tensor {
  return compare('less', a, b);
}
/** 1 where a <= b, else 0. */
export function lessEqual(a: TensorLike, b: TensorLike): Tensor {
  return compare('lessEqual', a, b);
}

// ---- unary ----

function unary(op: string, code: UnaryOpName, xIn: TensorLike, p1 = 0, p2 = 0): Tensor {
  const { ts: [x], owned } = operandsOf(op, [[xIn, 'x']]);
  guarded(owned, () => requireFloat(op, x!, 'x'));
  const c = UnaryOp[code];
  const be = x!._be;
  const out = empty(be, x!.shape);
  be.unary(c, x!.f32(op), out.f32(op), p1, p2);
  return record(op, out, [x!], (dy) => {
    const dx = empty(be, x!.shape);
    // out is alive here: its graph node (this closure) is dropped when it is disposed.
    be.unaryBackward(c, x!.f32(op), out.f32(op), dy.f32(op), dx.f32(op), p1, p2);
    return [dx];
  }, owned);
}

/** -x */
export function neg(x: TensorLike): Tensor {
  return unary('neg', 'neg', x);
}
/** e^x */
export function exp(x: TensorLike): Tensor {
  return unary('exp', 'exp', x);
}
/** Natural logarithm (NaN below 0, -Infinity at 0). */
export function log(x: TensorLike): Tensor {
  return unary('log', 'log', x);
}
/** Square root (NaN below 0). */
export function sqrt(x: TensorLike): Tensor {
  return unary('sqrt', 'sqrt', x);
}
/** 1 / sqrt(x) */
export function rsqrt(x: TensorLike): Tensor {
  return unary('rsqrt', 'rsqrt', x);
}
/** |x|; its gradient at 0 is 0. */
export function abs(x: TensorLike): Tensor {
  return unary('abs', 'abs', x);
}
/** x² */
export function square(x: TensorLike): Tensor {
  return unary('square', 'square', x);
}
/** 1 / x */
export function reciprocal(x: TensorLike): Tensor {
  return unary('reciprocal', 'reciprocal', x);
}
/** -1, 0 or 1 by the sign of x (NaN stays NaN); zero gradient. */
export function sign(x: TensorLike): Tensor {
  return unary('sign', 'sign', x);
}

/** Limits x to [lo, hi]; the gradient passes where lo <= x <= hi. Infinite bounds are allowed. */
export function clip(x: TensorLike, lo: number, hi: number): Tensor {
  const op = 'clip';
  numberArg(op, lo, 'lo');
  numberArg(op, hi, 'hi');
  if (lo > hi) throw new TensorboltError(op, `lo (${lo}) must not exceed hi (${hi})`);
  return unary(op, 'clip', x, lo, hi);
}

/** tfjs's name for clip. */
export const clipByValue = clip;

// ---- where ----

/**
 * cond ? a : b elementwise, all three broadcast together. cond may be float32 or int32 (nonzero is
 * true); gradients flow to a where cond holds and to b elsewhere.
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const op = 'where';
  const { ts: [c0, x, y], owned } = operandsOf(op, [[cond, 'cond'], [a, 'a'], [b, 'b']]);
  const outShape = guarded(owned, () => {
    requireFloat(op, x!, 'a');
    requireFloat(op, y!, 'b');
    try {
      return broadcastShapes(op, broadcastShapes(op, c0!.shape, x!.shape), y!.shape);
    } catch {
      throw new TensorboltError(op, `cond ${fmtShape(c0!.shape)}, a ${fmtShape(x!.shape)} and b ${fmtShape(y!.shape)} cannot be broadcast together`);
    }
  });
  const be = guarded(owned, () => backendOf(op, c0!, x!, y!));
  const c = asFloat(be, c0!);
  const saved = c === c0 ? owned : [...owned, c];
  const cs = broadcastStrides(c.shape, outShape);
  const as = broadcastStrides(x!.shape, outShape);
  const bs = broadcastStrides(y!.shape, outShape);
  const os = i32(outShape);
  const out = empty(be, outShape);
  be.where(c.f32(op), cs, x!.f32(op), as, y!.f32(op), bs, out.f32(op), os);
  return record(op, out, [x!, y!], (dy) => {
    const da = x!.requiresGrad ? empty(be, x!.shape) : null;
    const db = y!.requiresGrad ? empty(be, y!.shape) : null;
    be.whereBackward(c.f32(op), cs, dy.f32(op), os, da ? da.f32(op) : null, as, db ? db.f32(op) : null, bs);
    return [da, db];
  }, saved);
}

// ---- Tensor methods ----

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    maximum(b: TensorLike): Tensor;
    minimum(b: TensorLike): Tensor;
    eq(b: TensorLike): Tensor;
    notEqual(b: TensorLike): Tensor;
    greater(b: TensorLike): Tensor;
    greaterEqual(b: TensorLike): Tensor;
    less(b: TensorLike): Tensor;
    lessEqual(b: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    sign(): Tensor;
    clip(lo: number, hi: number): Tensor;
  }
}

const binaryMethods = { add, sub, mul, div, pow, maximum, minimum, eq, notEqual, greater, greaterEqual, less, lessEqual };
for (const [name, fn] of Object.entries(binaryMethods)) {
  Object.defineProperty(Tensor.prototype, name, {
    value: function (this: Tensor, b: TensorLike) { return fn(this, b); },
    writable: true, configurable: true,
  });
}
const unaryMethods = { neg, exp, log, sqrt, rsqrt, abs, square, reciprocal, sign };
for (const [name, fn] of Object.entries(unaryMethods)) {
  Object.defineProperty(Tensor.prototype, name, {
    value: function (this: Tensor) { return fn(this); },
    writable: true, configurable: true,
  });
}
Tensor.prototype.clip = function (lo: number, hi: number) { return clip(this, lo, hi); };
