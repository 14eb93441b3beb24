// Weight initializers that need more than one random draw per element.
import { globalRandom, type Random } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Keras's Orthogonal initializer: a (rows, cols) matrix whose rows (rows <= cols) or columns are
 * orthonormal, times gain: the Q of a Gaussian matrix's QR decomposition (signs fixed so the
 * diagonal of R is positive, which Gram-Schmidt gives by construction). Runs once, at build time,
 * in float64 (modified Gram-Schmidt over min(rows, cols) vectors of length max(rows, cols)).
 */
export function orthogonal(rows: number, cols: number, gain = 1, rng: Random = globalRandom): Tensor {
  const m = Math.max(rows, cols), n = Math.min(rows, cols);
  const a = new Float64Array(m * n); // n vectors of length m, each contiguous
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    const vj = a.subarray(j * m, (j + 1) * m);
    for (let k = 0; k < j; k++) {
      const vk = a.subarray(k * m, (k + 1) * m);
      let dot = 0;
      for (let i = 0; i < m; i++) dot += vk[i]! * vj[i]!;
      for (let i = 0; i < m; i++) vj[i]! -= dot * vk[i]!;
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += vj[i]! * vj[i]!;
    const s = 1 / Math.sqrt(norm);
    for (let i = 0; i < m; i++) vj[i]! *= s;
  }
  const out = new Float32Array(rows * cols);
  // rows >= cols: the vectors are the columns; otherwise they are the rows.
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (rows >= cols ? a[c * m + r]! : a[r * m + c]!);
  return tensor(out, [rows, cols]); // on the default device, as every initializer's draw
}
