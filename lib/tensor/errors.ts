/** The one error class for every misuse of the library: bad shapes, dtypes, arguments, disposed tensors. */
export class TensorboltError extends Error {
  /** The operation that rejected its input (e.g. 'matmul', 'Dense.forward'). */
  readonly op: string;
  constructor(op: string, message: string) {
    // op comes from our code, but internal helpers (tensor.buf(op)) can be handed anything
    const o = typeof op === 'string' ? op : fmtValue(op);
    super(`${o}: ${message}`);
    this.name = 'TensorboltError';
    this.op = o;
  }
}

/**
 * A user-supplied value for an error message. Never throws: JSON.stringify alone throws on a BigInt
 * or a cyclic object, and String() on an object without a prototype, which would replace the
 * TensorboltError being built with a TypeError.
 */
export function fmtValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'undefined') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v === 'symbol' ? v.toString() : 'a function';
  try {
    const s = JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint' ? `${x}n` : typeof x === 'symbol' ? x.toString() : typeof x === 'number' && !Number.isFinite(x) ? String(x) : typeof x === 'function' ? 'a function' : x);
    if (s !== undefined) return s;
  } catch {
    // cyclic
  }
  try {
    return String(v);
  } catch {
    return typeof v;
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Throws TensorboltError(op, message) unless cond holds. */
export function check(cond: unknown, op: string, message: string | (() => string)): asserts cond {
  if (!cond) throw new TensorboltError(op, typeof message === 'string' ? message : message());
}

/** An options argument: undefined (defaults) or an object; null or a primitive throws naming op. */
export function checkOptions(op: string, opts: unknown, what = 'options'): void {
  if (opts !== undefined && (opts === null || typeof opts !== 'object'))
    throw new TensorboltError(op, `${what} must be an object, got ${fmtValue(opts)}`);
}
