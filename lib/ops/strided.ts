// Internal helpers over the native strided copy, shared by the layout ops and the reductions.
import type { AnyBuf, OpBackend } from '../native/backend.js';
import { stridesOf, type Shape } from '../tensor/shape.js';

/** @internal Writes src (shape `shape`, contiguous) permuted by `perm` into the contiguous dst. */
export function permuteInto(be: OpBackend, src: AnyBuf, shape: Shape, perm: readonly number[], dst: AnyBuf): void {
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  be.copyStrided(src, 0, Int32Array.from(perm, (p) => st[p]!), dst, 0, Int32Array.from(stridesOf(outShape)),
                 Int32Array.from(outShape), false);
}

/** @internal The permutation that undoes perm. */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return inv;
}

/** @internal Contiguous strides of shape as the Int32Array the addon takes. */
export function stridesI32(shape: Shape): Int32Array {
  return Int32Array.from(stridesOf(shape));
}
