// bench/gemm: square sgemm GFLOP/s at n = 128..2048 through the binding (native gemm on JS typed
// arrays, and tb.matmul with its output allocation), next to OpenBLAS called directly from a small
// C++ program in the same run. Results go to bench/results/gemm-<date>.{md,json}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as tb from '../lib/index.js';
import { native, packageRoot } from '../lib/native/load.js';
import { gemmDirect } from './gemm_direct.js';
import { mdTable, median, minMax, timeMs } from './stats.js';

const quick = process.argv.includes('--quick');
const sizes = quick ? [128, 256, 512] : [128, 256, 512, 1024, 2048];
const reps = quick ? 3 : 7;
const root = packageRoot();
const gflops = (n: number, ms: number) => (2 * n ** 3) / (ms * 1e6);

function viaBinding(n: number): { raw: number[]; matmul: number[] } {
  const a = tb.randn([n, n], 0, 1, { seed: 1 });
  const b = tb.randn([n, n], 0, 1, { seed: 2 });
  const c = new Float32Array(n * n);
  const A = a.dataSync() as Float32Array;
  const B = b.dataSync() as Float32Array;
  const inner = n <= 256 ? 20 : n <= 512 ? 4 : 1;
  const g = native();
  g.gemm(A, B, c, false, false, n, n, n, 1, 0, 1, 0, 0, 0);
  const raw: number[] = [];
  const mm: number[] = [];
  for (let r = 0; r < reps; r++) {
    raw.push(timeMs(() => { for (let q = 0; q < inner; q++) g.gemm(A, B, c, false, false, n, n, n, 1, 0, 1, 0, 0, 0); }) / inner);
    mm.push(timeMs(() => { for (let q = 0; q < inner; q++) tb.matmul(a, b).dispose(); }) / inner);
  }
  a.dispose();
  b.dispose();
  return { raw, matmul: mm };
}

const info = tb.backendInfo();
const dm = gemmDirect(sizes, reps, info.threads);
const d = typeof dm === 'string' ? dm : new Map(Object.entries(dm).map(([k, v]) => [Number(k), v]));
const rows: (string | number)[][] = [];
const json: Record<string, unknown>[] = [];
for (const n of sizes) {
  const { raw, matmul } = viaBinding(n);
  const ds = typeof d === 'string' ? null : d.get(n)!;
  const gRaw = gflops(n, median(raw));
  const gMm = gflops(n, median(matmul));
  const gDir = ds ? gflops(n, median(ds)) : NaN;
  const [lo, hi] = minMax(raw.map((ms) => gflops(n, ms)));
  rows.push([n, gDir.toFixed(1), `${gRaw.toFixed(1)} (${lo.toFixed(1)}–${hi.toFixed(1)})`, gMm.toFixed(1),
    ds ? `${((gRaw / gDir) * 100).toFixed(0)}%` : 'n/a', ds ? `${((gMm / gDir) * 100).toFixed(0)}%` : 'n/a']);
  json.push({ n, direct_ms: ds, binding_ms: raw, matmul_ms: matmul });
}
const table = mdTable(['n', 'OpenBLAS direct GFLOP/s', 'binding gemm GFLOP/s (min–max)', 'tb.matmul GFLOP/s', 'binding / direct', 'matmul / direct'], rows);
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, gemm: info.gemm, openblas: info.openblasConfig, threads: info.threads };
const header = `sgemm, square, fp32, medians of ${reps} samples — ${new Date().toISOString().slice(0, 10)} — ${machine.cpu} (${machine.cores} cores), ${info.openblasConfig || 'portable GEMM'}`;
console.log(header + '\n\n' + table + (typeof d === 'string' ? `\n\nOpenBLAS direct: ${d}` : ''));
if (!quick) {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().slice(0, 10);
  writeFileSync(join(dir, `gemm-${stamp}.md`), header + '\n\n' + table + '\n');
  writeFileSync(join(dir, `gemm-${stamp}.json`), JSON.stringify({ machine, reps, results: json }, null, 1));
}
