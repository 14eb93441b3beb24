// tidy(fn): every tensor created inside fn and not returned (nor kept) is disposed when fn ends,
// as in TensorFlow.js. Scopes nest; a returned tensor moves to the enclosing scope.
import { engine } from './engine.js';
import { TensorboltError } from './errors.js';
import { Tensor } from './tensor.js';

type Returnable = Tensor | Tensor[] | Record<string, Tensor> | number | string | void | undefined | null | object;

function collect(x: unknown, out: Set<Tensor>, depth = 0): void {
  if (x instanceof Tensor) out.add(x);
  else if (depth < 3 && Array.isArray(x)) for (const v of x) collect(v, out, depth + 1);
  else if (depth < 3 && x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype)
    for (const v of Object.values(x)) collect(v, out, depth + 1);
}

export function tidy<T extends Returnable>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TensorboltError('tidy', `expects a function, got ${fn === null ? 'null' : typeof fn}`);
  const scope = { tensors: new Set<Tensor>() };
  engine.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    engine.scopes.pop();
    for (const t of scope.tensors) t.dispose();
    throw e;
  }
  engine.scopes.pop();
  if (result instanceof Promise) throw new TensorboltError('tidy', 'fn must be synchronous (it returned a Promise)');
  const keepSet = new Set<Tensor>();
  collect(result, keepSet);
  for (const t of scope.tensors) if (!keepSet.has(t)) t.dispose();
  const parent = engine.scopes[engine.scopes.length - 1];
  for (const t of keepSet) {
    if (!scope.tensors.has(t)) continue;
    if (parent) parent.tensors.add(t);
    else engine.register(t); // out of every scope now: the finalization backstop watches it
  }
  return result;
}

/** Keeps t alive past every enclosing tidy(). */
export function keep<T extends Tensor>(t: T): T {
  if (!(t instanceof Tensor)) throw new TensorboltError('keep', `expects a Tensor, got ${t === null ? 'null' : typeof t}`);
  return engine.keep(t);
}

/** Disposes every tensor found in x (a tensor, array or plain object of tensors). */
export function dispose(x: unknown): void {
  const s = new Set<Tensor>();
  collect(x, s);
  for (const t of s) t.dispose();
}
