/** The one error class for every misuse of the library: bad shapes, dtypes, arguments, disposed tensors. */
export class TensorboltError extends Error {
  /** The operation that rejected its input (e.g. 'matmul', 'Dense.forward'). */
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'TensorboltError';
    this.op = op;
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Throws TensorboltError(op, message) unless cond holds. */
export function check(cond: unknown, op: string, message: string | (() => string)): asserts cond {
  if (!cond) throw new TensorboltError(op, typeof message === 'string' ? message : message());
}
