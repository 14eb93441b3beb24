// Per-channel statistics shared by the tensor-level normalize and the per-sample transform.
import { TensorboltError } from '../tensor/errors.js';

/** Validates per-channel mean/std (one entry per channel, or one for all). */
export function checkStats(op: string, mean: readonly number[] | undefined, std: readonly number[] | undefined): asserts mean is readonly number[] {
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length === 0)
    throw new TensorboltError(op, 'mean and std must be numbers or non-empty arrays of numbers');
  if (mean.length !== std.length) throw new TensorboltError(op, `${mean.length} means but ${std.length} standard deviations`);
  for (let i = 0; i < std.length; i++) {
    if (!Number.isFinite(mean[i]) || !Number.isFinite(std[i]) || std[i] === 0)
      throw new TensorboltError(op, `mean[${i}] = ${mean[i]}, std[${i}] = ${std[i]}: need finite values and a non-zero std`);
  }
}

export function applyNormalize(src: ArrayLike<number>, dst: Float32Array, c: number, mean: readonly number[], std: readonly number[]): void {
  if (mean.length === 1) {
    const m = mean[0]!;
    const inv = 1 / std[0]!;
    for (let i = 0; i < src.length; i++) dst[i] = (src[i]! - m) * inv;
    return;
  }
  const inv = std.map((s) => 1 / s);
  for (let i = 0; i < src.length; i += c)
    for (let ch = 0; ch < c; ch++) dst[i + ch] = (src[i + ch]! - mean[ch]!) * inv[ch]!;
}
