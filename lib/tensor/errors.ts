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
 * A user-supplied value for an error message, JSON-like ({"a":[1,2]}, "text", null, 1n, NaN), at
 * most ~200 characters. Never throws and never recurses deeply: values come from files and callers
 * (a model.json can nest arrays 100,000 deep, where JSON.stringify overflows the stack, and a cyclic
 * object or a BigInt make it throw), and the error being built must stay the error thrown.
 */
export function fmtValue(v: unknown): string {
  const out = { text: '', full: false };
  put(out, v, 0);
  return out.full ? `${out.text}...` : out.text;
}

const MAX_CHARS = 200;
const MAX_DEPTH = 4;
const MAX_ITEMS = 8;

function emit(out: { text: string; full: boolean }, s: string): void {
  if (out.full) return;
  if (out.text.length + s.length > MAX_CHARS) {
    out.text += s.slice(0, MAX_CHARS - out.text.length);
    out.full = true;
  } else {
    out.text += s;
  }
}

function put(out: { text: string; full: boolean }, v: unknown, depth: number): void {
  if (out.full) return;
  if (v === null) return emit(out, 'null');
  switch (typeof v) {
    case 'number': case 'boolean': case 'undefined': return emit(out, String(v));
    case 'bigint': return emit(out, `${v}n`);
    case 'symbol': return emit(out, v.toString());
    case 'function': return emit(out, 'a function');
    case 'string': return emit(out, JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v));
  }
  let name = 'object';
  try {
    const proto = Object.getPrototypeOf(v);
    if (proto && proto !== Object.prototype && proto !== Array.prototype) name = String(proto.constructor?.name ?? 'object');
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return emit(out, `${name}(${(v as unknown as ArrayLike<number>).length})`);
    if (name !== 'object' && !Array.isArray(v)) return emit(out, `a ${name}`);
    if (depth >= MAX_DEPTH) return emit(out, Array.isArray(v) ? '[...]' : '{...}');
    if (Array.isArray(v)) {
      emit(out, '[');
      const n = Math.min(v.length, MAX_ITEMS);
      for (let i = 0; i < n; i++) {
        if (i) emit(out, ',');
        put(out, v[i], depth + 1);
      }
      if (v.length > n) emit(out, `,... ${v.length} items`);
      return emit(out, ']');
    }
    const keys = Object.keys(v as object);
    emit(out, '{');
    keys.slice(0, MAX_ITEMS).forEach((k, i) => {
      emit(out, `${i ? ',' : ''}${JSON.stringify(k)}:`);
      put(out, (v as Record<string, unknown>)[k], depth + 1);
    });
    if (keys.length > MAX_ITEMS) emit(out, `,... ${keys.length} keys`);
    return emit(out, '}');
  } catch {
    return emit(out, `a ${name}`); // a getter or proxy that throws
  }
}

/** Text from a caller or a file (a name, a dtype): as is when it is a string, else fmtValue of it. */
export function fmtText(v: unknown): string {
  return typeof v === 'string' ? (v.length > 200 ? `${v.slice(0, 200)}...` : v) : fmtValue(v);
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
