#!/usr/bin/env node
// Checks a built addon's instruction sets (npm run prebuildify:check runs it on the prebuild):
// the load picked the widest set this CPU runs, and under every set it runs, a GEMM past the cache
// blocks and an implicit-GEMM convolution (NHWC and NCHW) match a float64 reference; with
// AVX512_BF16, the bf16 products stay within bf16 rounding. Prints one line per set; exits 1 on a
// mismatch.
//   node scripts/prebuild-isa-check.cjs <path/to/tensorbolt.node>
'use strict';
const b = require(require('path').resolve(process.argv[2]));

function fail(msg) {
  process.stderr.write(`isa check: ${msg}\n`);
  process.exit(1);
}

let seed = 7;
const rand = (n) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
const relErr = (got, want) => {
  let e = 0, s = 1;
  for (let i = 0; i < want.length; i++) (e = Math.max(e, Math.abs(got[i] - want[i]))), (s = Math.max(s, Math.abs(want[i])));
  return Number.isNaN(e) ? Infinity : e / s;
};

// C (m, n) = A (m, k) @ B (k, n)
const [m, n, k] = [67, 45, 300];
const A = rand(m * k), B = rand(k * n);
const wantC = new Float64Array(m * n);
for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { let s = 0; for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j]; wantC[i * n + j] = s; }
// conv: NHWC x (2, 9, 8, 16), weight (3, 3, 16, 32), valid, stride 1
const [N, H, W, C, OC] = [2, 9, 8, 16, 32], OH = H - 2, OW = W - 2;
const X = rand(N * H * W * C), Wt = rand(9 * C * OC), bias = rand(OC);
const wantY = new Float64Array(N * OH * OW * OC);
for (let q = 0; q < N; q++) for (let y = 0; y < OH; y++) for (let x = 0; x < OW; x++) for (let o = 0; o < OC; o++) {
  let s = bias[o];
  for (let t = 0; t < 9; t++) for (let c = 0; c < C; c++) s += X[((q * H + y + Math.floor(t / 3)) * W + x + (t % 3)) * C + c] * Wt[(t * C + c) * OC + o];
  wantY[((q * OH + y) * OW + x) * OC + o] = s;
}
// the same convolution in NCHW: x (N, C, H, W), weight (OC, C, 3, 3), y (N, OC, OH, OW)
const Xc = new Float32Array(X.length), Wc = new Float32Array(Wt.length), wantYc = new Float64Array(wantY.length);
for (let q = 0; q < N; q++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) Xc[(q * C + c) * H * W + p] = X[(q * H * W + p) * C + c];
for (let o = 0; o < OC; o++) for (let c = 0; c < C; c++) for (let t = 0; t < 9; t++) Wc[(o * C + c) * 9 + t] = Wt[(t * C + c) * OC + o];
for (let q = 0; q < N; q++) for (let o = 0; o < OC; o++) for (let p = 0; p < OH * OW; p++) wantYc[(q * OC + o) * OH * OW + p] = wantY[(q * OH * OW + p) * OC + o];
const dims = (nhwc) => Int32Array.from([N, C, H, W, OC, 3, 3, OH, OW, 1, 1, 0, 0, nhwc ? 1 : 0]);

function errors() {
  const c = new Float32Array(m * n);
  b.gemm(A, B, c, false, false, m, n, k, 1, 0, 1, 0, 0, 0);
  const y = new Float32Array(wantY.length), yc = new Float32Array(wantY.length);
  b.conv2d(X, Wt, bias, y, dims(true), 0);
  b.conv2d(Xc, Wc, bias, yc, dims(false), 0);
  return [relErr(c, wantC), relErr(y, wantY), relErr(yc, wantYc)];
}

const info = b.isaInfo();
if (info.isa !== info.isaBest) fail(`the load picked ${info.isa}, but this CPU runs ${info.isaBest}`);
for (const set of info.isaSupported) {
  b.setIsa(set);
  const e = errors();
  if (e.some((x) => !(x < 1e-5))) fail(`${set}: relative errors ${e.map((x) => x.toExponential(1)).join(', ')} (gemm, conv NHWC, conv NCHW)`);
  console.log(`${set}${set === info.isa ? ' (picked at load)' : ''}: gemm, conv NHWC, conv NCHW match float64 (${e.map((x) => x.toExponential(1)).join(', ')})`);
}
b.setIsa(info.isa);
if (info.bf16) {
  b.setCpuBf16(true);
  const e = errors();
  b.setCpuBf16(false);
  if (e.some((x) => !(x < 2e-2)) || !e.some((x) => x > 1e-6)) fail(`bf16: relative errors ${e.map((x) => x.toExponential(1)).join(', ')}`);
  console.log(`bf16 (AVX512_BF16): within bf16 rounding (${e.map((x) => x.toExponential(1)).join(', ')})`);
}
