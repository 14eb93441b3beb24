// Helpers every op file uses: the backend of the inputs, turning arguments into tensors, dtype
// checks, output allocation.
import type { OpBackend } from '../native/backend.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { tensor, type TensorLike } from '../tensor/creation.js';
import { Tensor, empty } from '../tensor/tensor.js';
import type { DType } from '../tensor/engine.js';
import { FusedAct } from '../native/opcodes.js';

export { empty };
export type { OpBackend };

function mixedDevices(op: string, ts: readonly (Tensor | null | undefined)[]): TensorboltError {
  const a = ts[0]!;
  const b = ts.find((t) => t && t._be !== a._be)!;
  const other = a.device === 'cpu' ? b.device : a.device;
  return new TensorboltError(op, `expects its inputs on one device, got tensor #${a.id} ${fmtShape(a.shape)} on '${a.device}' ` +
    `and tensor #${b.id} ${fmtShape(b.shape)} on '${b.device}'; move one with .to('${other}')`);
}

/**
 * The backend every tensor input of op lives on (nulls are skipped). Inputs on two devices: a
 * TensorboltError naming the op, both devices and the fix.
 */
export function backendOf(op: string, a: Tensor, b?: Tensor | null, c?: Tensor | null, d?: Tensor | null): OpBackend {
  const be = a._be;
  if ((b && b._be !== be) || (c && c._be !== be) || (d && d._be !== be)) throw mixedDevices(op, [a, b, c, d]);
  return be;
}

/** backendOf over a list of tensors (concat, stack). */
export function backendOfAll(op: string, ts: readonly Tensor[]): OpBackend {
  const be = ts[0]!._be;
  for (const t of ts) if (t._be !== be) throw mixedDevices(op, ts);
  return be;
}

/**
 * An op's operand as a tensor; a number or array becomes a tensor on `device` (the other operands'
 * device). `owned` is true when we made it here: the op must hand it to record(..., saved) or
 * dispose it, so constants do not leak.
 */
export function operand(op: string, x: TensorLike, name = 'input', device?: Tensor['device']): { t: Tensor; owned: boolean } {
  if (x instanceof Tensor) {
    x.buf(op);
    return { t: x, owned: false };
  }
  if (typeof x === 'number' || Array.isArray(x) || x instanceof Float32Array || x instanceof Int32Array) {
    return { t: tensor(x, undefined, device === undefined ? undefined : { device }), owned: true };
  }
  throw new TensorboltError(op, `${name} must be a Tensor, a number or a (nested) array, got ${describe(x)}`);
}

/** A tensor argument that must already be a Tensor (used by ops that take no constants). */
export function tensorArg(op: string, x: unknown, name = 'input'): Tensor {
  if (!(x instanceof Tensor)) throw new TensorboltError(op, `${name} must be a Tensor, got ${describe(x)}`);
  x.buf(op);
  return x;
}

export function requireFloat(op: string, t: Tensor, name = 'input'): void {
  if (t.dtype !== 'float32')
    throw new TensorboltError(op, `${name} must be float32, got ${t.dtype} ${fmtShape(t.shape)} (use .cast('float32'))`);
}

export function requireDtype(op: string, t: Tensor, dtype: DType, name = 'input'): void {
  if (t.dtype !== dtype) throw new TensorboltError(op, `${name} must be ${dtype}, got ${t.dtype} ${fmtShape(t.shape)}`);
}

export function requireRank(op: string, t: Tensor, rank: number | number[], name = 'input'): void {
  const ok = Array.isArray(rank) ? rank.includes(t.rank) : t.rank === rank;
  if (!ok)
    throw new TensorboltError(op, `${name} must have rank ${Array.isArray(rank) ? rank.join(' or ') : rank}, got shape ${fmtShape(t.shape)}`);
}

/**
 * Throws when a call got more arguments than `signature` takes: JavaScript drops extras silently,
 * so `tb.flatten(x, 1)` did nothing with its 1 before startDim existed.
 */
export function maxArgs(op: string, args: { length: number }, max: number, signature: string): void {
  if (args.length > max)
    throw new TensorboltError(op, `takes at most ${max} argument${max === 1 ? '' : 's'} (${signature}), got ${args.length}`);
}

export function numberArg(op: string, x: unknown, name: string): number {
  if (typeof x !== 'number' || Number.isNaN(x)) throw new TensorboltError(op, `${name} must be a number, got ${describe(x)}`);
  return x;
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x instanceof Tensor) return `Tensor ${fmtShape(x.shape)} ${x.dtype}`;
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'an object';
  return `${typeof x} ${String(x)}`;
}

export function i32(values: readonly number[]): Int32Array {
  return Int32Array.from(values);
}

/** Activations conv2d and linear can apply to their output in their own native pass. */
export type FusedActivation = 'linear' | 'relu';

/** Native code of a fused activation; throws naming op on anything else. */
export function fusedActivationCode(op: string, a: unknown): number {
  if (a === undefined || a === 'linear') return FusedAct.linear;
  if (a === 'relu') return FusedAct.relu;
  throw new TensorboltError(op, `activation must be 'relu' or 'linear' (apply other activations as their own op), got ${typeof a === 'string' ? JSON.stringify(a) : fmtValue(a)}`);
}
