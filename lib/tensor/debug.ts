// Debug mode (tb.setDebug(true)): every op's float output, and every gradient an op's backward
// rule returns, is scanned for NaN and ±Infinity; the first op that yields one throws, naming the op,
// the output shape, the first bad index and value, and whether its inputs were already non-finite
// (then the value came in from outside, e.g. from the data). Off by default: the hooks in
// autograd.ts cost one property read per op when off.
import { engine } from './engine.js';
import { TensorboltError, fmtShape } from './errors.js';
import { hostValues, type Tensor } from './tensor.js';

/** Turns the per-op NaN/Inf check on or off (like tf.enableDebugMode). */
export function setDebug(on: boolean): void {
  if (typeof on !== 'boolean') throw new TensorboltError('setDebug', `expected a boolean, got ${typeof on}`);
  engine.debug = on;
}

export function isDebug(): boolean {
  return engine.debug;
}

/** Index of the first NaN/±Inf in t (float32 only; a device tensor is read back), or -1. */
function firstNonFinite(t: Tensor): number {
  if (t.dtype !== 'float32') return -1;
  const b = hostValues(t, 'debug');
  for (let i = 0; i < b.length; i++) if (!Number.isFinite(b[i]!)) return i;
  return -1;
}

function valueAt(t: Tensor, i: number): number {
  return hostValues(t, 'debug')[i]!;
}

function describeBad(t: Tensor, i: number): string {
  return `${valueAt(t, i)} at flat index ${i} of its ${fmtShape(t.shape)} output`;
}

function inputsNote(inputs: readonly (Tensor | null)[], names = 'input'): string {
  const bad = inputs.flatMap((x, k) => (x && !x.isDisposed && firstNonFinite(x) >= 0 ? [k] : []));
  return bad.length
    ? ` (its ${names} ${bad.join(', ')} already held NaN/Inf: the value entered from outside this op)`
    : ` from finite ${names}s`;
}

/**
 * Called by record() on every op output while debug mode is on. On a non-finite value, disposes the
 * output and the tensors saved for backward (the op is abandoned) and throws.
 */
export function checkOpOutput(op: string, out: Tensor, inputs: readonly Tensor[], saved: readonly Tensor[]): void {
  const i = firstNonFinite(out);
  if (i < 0) return;
  const msg = `debug mode: produced ${describeBad(out, i)}${inputsNote(inputs)}`;
  for (const s of saved) s.dispose();
  out.dispose();
  throw new TensorboltError(op, msg);
}

/** Called by backward() on the gradients an op's backward rule returned, while debug mode is on. */
export function checkOpGradients(op: string, grads: readonly (Tensor | null)[], dy: Tensor): void {
  for (let k = 0; k < grads.length; k++) {
    const g = grads[k];
    if (!g) continue;
    const i = firstNonFinite(g);
    if (i < 0) continue;
    const bad = valueAt(g, i);
    for (const x of grads) if (x && x !== dy) x.dispose(); // the step is abandoned
    const note = firstNonFinite(dy) >= 0 ? ' (the incoming gradient already held NaN/Inf)' : ' from a finite incoming gradient';
    throw new TensorboltError(`${op} (backward)`, `debug mode: the gradient of input ${k} has ${bad} at flat index ${i} of ${fmtShape(g.shape)}${note}`);
  }
}
