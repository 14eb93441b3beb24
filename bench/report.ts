// Turns a benchmark summary into the markdown tables and the SVG bar chart of tensorbolt/peer ratios.
import { convFlops, CONV_SHAPES, MODELS, type ModelKind } from './protocol.js';
import { fmtNum, fmtSpread, mdTable, median } from './stats.js';

export const PEERS = ['PyTorch', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-node'] as const;
export type PeerName = (typeof PEERS)[number];
export type Column = 'tensorbolt' | PeerName;

export interface TrainEntry {
  status: 'ok' | 'missing' | 'skipped' | 'error';
  /** Why it is missing, skipped or failed. */
  note?: string;
  threads?: number;
  /** How the thread count was chosen or what the backend actually uses. */
  threadsNote?: string;
  trainImgS?: number[];
  inferImgS?: number[];
  /** Why training could not run although the peer is present (inference may still have). */
  trainError?: string;
  epochS?: number;
  testAccuracy?: number;
  peakRssMb?: number;
}

export interface ConvSummary {
  batch: number;
  tensorbolt: Record<string, number[]> | string;
  PyTorch: Record<string, number[]> | string;
  threads: { tensorbolt: number; PyTorch: number };
  /** Best OpenBLAS-direct sgemm GFLOP/s of this run: the GEMM roofline. */
  rooflineGflops: number;
}

export interface GemmSummary {
  sizes: number[];
  binding: Record<string, number[]>;
  matmul: Record<string, number[]>;
  bindingBf16?: Record<string, number[]>;
  bindingSteady?: Record<string, number[]>;
  direct: Record<string, number[]> | string;
  threads: number;
}

/** The machine's fp32 FMA peak on all cores (bench/fma_peak.cc): the best sample. */
export interface PeakSummary {
  isa: string;
  threads: number;
  samplesGflops: number[];
  gflops: number;
}

export interface Summary {
  date: string;
  quick: boolean;
  header: string;
  batch: number;
  train: Partial<Record<ModelKind, Record<Column, TrainEntry>>>;
  /** tensorbolt's MLP with the zero-skipping products off (TENSORBOLT_SPARSE=0). */
  mlpDense?: TrainEntry;
  /** tensorbolt trained by a PyTorch-style hand-written loop over tb.nn modules (NCHW for the CNN). */
  torchStyle?: Partial<Record<ModelKind, TrainEntry>>;
  /** The same loop for the MLP with zero-skipping off. */
  torchStyleDense?: TrainEntry;
  /** The Keras CNN through fit with setMatmulPrecision('bf16') (absent without AVX512_BF16). */
  cnnBf16?: TrainEntry;
  /**
   * One epoch of the Keras CNN per seed, fp32 and bf16 from the same seed (the first seed is the
   * full-epoch row's): one epoch's test accuracy moves by tenths of a point from seed to seed, so
   * the two precisions are compared on the mean over several seeds.
   */
  cnnBf16Seeds?: { seed: number; fp32: number; bf16: number }[];
  peak?: PeakSummary | string;
  /** tensorbolt ÷ PyTorch training images/s within each round (peers run back to back in a round). */
  roundRatios?: Partial<Record<ModelKind, number[]>>;
  conv?: ConvSummary;
  gemm?: GemmSummary;
}

const MODEL_LABEL: Record<ModelKind, string> = { mlp: 'MLP 784-128-10', cnn: 'CNN (Keras MNIST)', lstm: 'LSTM(128), MNIST rows as 28 steps' };
const COLUMNS: Column[] = ['tensorbolt', ...PEERS];

type Metric = 'train' | 'infer' | 'epoch' | 'rss';

/** Samples of a metric (images/s; MB for rss), or null when there are none. */
function samples(e: TrainEntry, m: Metric): number[] | null {
  if (e.status !== 'ok') return null;
  const s = m === 'train' ? e.trainImgS : m === 'infer' ? e.inferImgS : m === 'epoch' ? (e.epochS ? [60000 / e.epochS] : undefined) : e.peakRssMb !== undefined ? [e.peakRssMb] : undefined;
  return s && s.length ? s : null;
}

function cell(e: TrainEntry, m: Metric, quick: boolean): string {
  if (e.status === 'missing') return 'missing';
  if (e.status === 'skipped') return 'skipped';
  if (e.status === 'error') return 'failed';
  if ((m === 'train' || m === 'epoch') && e.trainError) return 'cannot train';
  const s = samples(e, m);
  if (!s) return m === 'epoch' && quick ? 'skipped (--quick)' : '—';
  if (m === 'epoch') return `${fmtNum(s[0]!)} (${e.epochS!.toFixed(1)} s, ${((e.testAccuracy ?? NaN) * 100).toFixed(2)}%)`;
  if (m === 'rss') return fmtNum(s[0]!);
  return fmtSpread(s);
}

/** tensorbolt ÷ peer of the medians (RSS: tensorbolt's MB ÷ the peer's; lower is better there). */
export function ratio(tb: TrainEntry, peer: TrainEntry, m: Metric): number | null {
  const a = samples(tb, m);
  const b = samples(peer, m);
  if (!a || !b || ((m === 'train' || m === 'epoch') && (tb.trainError || peer.trainError))) return null;
  return median(a) / median(b);
}

const fmtRatio = (r: number | null) => (r === null ? '—' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`);

export function trainTable(s: Summary): string {
  const metrics: [Metric, string][] = [
    ['train', 'training, images/s'],
    ['infer', 'inference, images/s'],
    ['epoch', 'full epoch, images/s (time, test accuracy)'],
    ['rss', 'peak RSS, MB (lower is better)'],
  ];
  const rows: string[][] = [];
  for (const model of MODELS.filter((k) => s.train[k])) {
    const t = s.train[model]!;
    for (const [m, label] of metrics) {
      rows.push([`${MODEL_LABEL[model]}: ${label}`, ...COLUMNS.map((c) => cell(t[c], m, s.quick)),
        ...PEERS.map((p) => fmtRatio(ratio(t.tensorbolt, t[p], m)))]);
      if (m !== 'train') continue;
      const extra = (label: string, d: TrainEntry | undefined) => {
        if (d) rows.push([`${MODEL_LABEL[model]}: training, images/s, ${label}`, cell(d, m, s.quick), ...PEERS.map(() => ''),
          ...PEERS.map((p) => fmtRatio(ratio(d, t[p], m)))]);
      };
      if (model === 'mlp') extra('zero-skipping off (TENSORBOLT_SPARSE=0)', s.mlpDense);
      extra(`PyTorch-style loop (tb.nn modules${model === 'cnn' ? ', nn.Conv2d on NCHW' : ''}, hand-written loop)`, s.torchStyle?.[model]);
      if (model === 'mlp') extra('PyTorch-style loop, zero-skipping off', s.torchStyleDense);
      if (model === 'cnn') extra("bf16 products (setMatmulPrecision('bf16'))", s.cnnBf16);
    }
    rows.push([`${MODEL_LABEL[model]}: threads`, ...COLUMNS.map((c) => (t[c].status === 'ok' && t[c].threads ? String(t[c].threads) : '—')), ...PEERS.map(() => '')]);
  }
  return mdTable(['workload (batch ' + s.batch + ', Adam)', ...COLUMNS, ...PEERS.map((p) => `tensorbolt ÷ ${p}`)], rows);
}

export function notes(s: Summary): string[] {
  const out: string[] = [];
  for (const model of MODELS.filter((k) => s.train[k]))
    for (const c of COLUMNS) {
      const e = s.train[model]![c];
      const bits = [e.note, e.threadsNote, e.trainError ? `cannot train: ${e.trainError}` : undefined].filter(Boolean);
      if (bits.length) out.push(`${c}, ${model.toUpperCase()}: ${bits.join('; ')}`);
    }
  const bf = s.cnnBf16, fp = s.train.cnn?.tensorbolt;
  if (bf?.status === 'ok' && fp) {
    const acc = (e: TrainEntry) => `${((e.testAccuracy ?? NaN) * 100).toFixed(2)}% (${e.epochS!.toFixed(1)} s)`;
    out.push(`CNN with bf16 products ÷ fp32, training through fit: ${fmtRatio(ratio(bf, fp, 'train'))}` +
      (bf.testAccuracy !== undefined && fp.testAccuracy !== undefined
        ? `; one epoch each from the same seed: test accuracy bf16 ${acc(bf)} against fp32 ${acc(fp)}, ` +
          `${(Math.abs(bf.testAccuracy - fp.testAccuracy) * 100).toFixed(2)} points apart`
        : '') + (bf.note ? ` (${bf.note})` : ''));
  }
  const seeds = s.cnnBf16Seeds ?? [];
  if (seeds.length > 1) {
    const pct = (v: number) => (v * 100).toFixed(2);
    const mean = (f: (r: (typeof seeds)[number]) => number) => seeds.reduce((a, r) => a + f(r), 0) / seeds.length;
    const d = mean((r) => r.bf16) - mean((r) => r.fp32);
    out.push(`CNN test accuracy after one epoch, bf16 against fp32 from the same seed, over ${seeds.length} seeds: ` +
      `mean bf16 ${pct(mean((r) => r.bf16))}% against fp32 ${pct(mean((r) => r.fp32))}%, ${(d * 100).toFixed(2)} points ` +
      `(per seed, bf16 − fp32: ${seeds.map((r) => `seed ${r.seed} ${((r.bf16 - r.fp32) * 100).toFixed(2)}`).join(', ')}; ` +
      `fp32 alone spans ${pct(Math.min(...seeds.map((r) => r.fp32)))}–${pct(Math.max(...seeds.map((r) => r.fp32)))}% over the seeds)`);
  }
  for (const model of MODELS.filter((k) => s.train[k])) {
    const r = s.roundRatios?.[model];
    if (r && r.length > 1)
      out.push(`tensorbolt ÷ PyTorch, ${model.toUpperCase()} training, round by round (each round runs the two back to back): ` +
        `median ${fmtRatio(median(r))} (${fmtRatio(Math.min(...r))}–${fmtRatio(Math.max(...r))}) over ${r.length} rounds: ` +
        r.map(fmtRatio).join(', '));
  }
  return out;
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '—');

// tensorbolt's variants of each pass: NHWC fp32 (the Keras layout), NCHW (nn.Conv2d's), NHWC bf16, and
// NHWC fp32 with Winograd off (the implicit-GEMM kernels; conv2 only).
const CONV_VARIANTS: [string, string][] = [['', 'NHWC'], ['.nchw', 'NCHW'], ['.bf16', 'NHWC, bf16'], ['.igemm', 'NHWC, implicit GEMM (TENSORBOLT_WINOGRAD=0)']];

export function convTable(c: ConvSummary, peak?: PeakSummary | string): string {
  const rows: string[][] = [];
  const peakG = typeof peak === 'object' ? peak.gflops : NaN;
  for (const [name, ch, h, w, oc] of CONV_SHAPES) {
    const flops = convFlops(c.batch, ch, h, w, oc);
    for (const pass of ['forward', 'backwardInput', 'backwardWeight'])
      for (const [suffix, label] of CONV_VARIANTS) {
        const tb = typeof c.tensorbolt === 'string' ? undefined : c.tensorbolt[`${name}.${pass}${suffix}`];
        const pt = typeof c.PyTorch === 'string' ? undefined : c.PyTorch[`${name}.${pass}`]; // PyTorch runs NCHW
        if (!tb && (suffix || !pt)) continue;
        const g = (ms: number[] | undefined) => (ms ? flops / (median(ms) * 1e6) : NaN);
        const msCell = (ms: number[] | undefined, why: string | Record<string, number[]>) =>
          ms ? `${fmtSpread(ms)} ms, ${g(ms).toFixed(1)} GFLOP/s` : typeof why === 'string' ? 'missing' : '—';
        rows.push([`${name} ${pass} (${ch}→${oc}, ${h}×${w}), ${label}`, msCell(tb, c.tensorbolt), msCell(pt, c.PyTorch),
          tb && pt ? fmtRatio(g(tb) / g(pt)) : '—', tb ? pct(g(tb) / peakG) : '—', tb ? pct(g(tb) / c.rooflineGflops) : '—']);
      }
  }
  return mdTable(['conv2d pass, batch ' + c.batch + ', 3×3 valid', `tensorbolt (${c.threads.tensorbolt} threads)`,
    `PyTorch (${c.threads.PyTorch} threads, NCHW)`, 'tensorbolt ÷ PyTorch', `of FMA peak (${Number.isFinite(peakG) ? peakG.toFixed(0) : '—'} GFLOP/s)`,
    `of OpenBLAS sgemm (${c.rooflineGflops.toFixed(1)} GFLOP/s)`], rows) + '\n\n' +
    'GFLOP/s count the direct convolution\'s 2·N·OH·OW·9·C·OC flops. With AVX-512 and fp32 products, conv2\'s forward and ' +
    'input gradient run Winograd\'s F(2×2, 3×3), which does 2.25× fewer multiplications: their GFLOP/s are effective ' +
    'ones and can pass the FMA peak. The implicit-GEMM rows are the same passes with Winograd off, the kernels\' own speed.';
}

export const gflops = (n: number, ms: number) => (2 * n ** 3) / (ms * 1e6);

export function gemmTable(g: GemmSummary, peak?: PeakSummary | string): string {
  const peakG = typeof peak === 'object' ? peak.gflops : NaN;
  const rows = g.sizes.map((n) => {
    const d = typeof g.direct === 'string' ? undefined : g.direct[n];
    const raw = g.binding[n]!;
    const mm = g.matmul[n]!;
    const bf = g.bindingBf16?.[n];
    const st = g.bindingSteady?.[n];
    const gd = d ? gflops(n, median(d)) : NaN;
    const spread = (ms: number[]) => fmtSpread(ms.map((x) => gflops(n, x)));
    return [String(n), d ? spread(d) : 'n/a', spread(raw), pct(gflops(n, median(raw)) / peakG), spread(mm),
      d ? pct(gflops(n, median(raw)) / gd) : 'n/a', d ? pct(gflops(n, median(mm)) / gd) : 'n/a',
      ...(g.bindingBf16 ? [bf ? spread(bf) : '—'] : []),
      ...(g.bindingSteady ? [st ? `${spread(st)}, ${pct(gflops(n, median(st)) / peakG)} of peak` : '—'] : [])];
  });
  return mdTable(['n', 'OpenBLAS direct, GFLOP/s', 'binding gemm, GFLOP/s', `binding, of FMA peak (${Number.isFinite(peakG) ? peakG.toFixed(0) : '—'})`,
    'tb.matmul, GFLOP/s', 'binding ÷ direct', 'matmul ÷ direct', ...(g.bindingBf16 ? ["binding gemm, bf16 ('bf16' precision), GFLOP/s"] : []),
    ...(g.bindingSteady ? ['binding gemm back to back, GFLOP/s'] : [])], rows);
}

export function markdown(s: Summary): string {
  const parts = [`# tensorbolt benchmark${s.quick ? ' (--quick)' : ''}`, '', s.header, '', trainTable(s), ''];
  const n = notes(s);
  if (n.length) parts.push(...n.map((x) => `- ${x}`), '');
  if (s.peak)
    parts.push(typeof s.peak === 'string' ? `FMA peak: ${s.peak}` : `FMA peak of this machine: ${s.peak.gflops.toFixed(0)} GFLOP/s fp32 ` +
      `(${s.peak.isa} fused multiply-adds on ${s.peak.threads} threads, best of ${s.peak.samplesGflops.length} samples: ` +
      `${s.peak.samplesGflops.map((x) => x.toFixed(0)).join(', ')}); the kernels' "of FMA peak" columns divide by it.`, '');
  if (s.conv) parts.push('## conv2d at the CNN\'s shapes', '', convTable(s.conv, s.peak), '');
  if (s.gemm) {
    parts.push(`## sgemm, square, fp32, ${s.gemm.threads} threads`, '', gemmTable(s.gemm, s.peak), '');
    if (typeof s.gemm.direct === 'string') parts.push(`OpenBLAS direct: ${s.gemm.direct}`, '');
  }
  parts.push('Cells: median (min–max) over the timed steps. Ratios compare medians; above 1× tensorbolt is faster ' +
    '(for peak RSS, below 1× tensorbolt uses less memory).' + (s.train.mlp ? ' The MLP\'s first layer skips the zeros of its input ' +
    '(81% of MNIST\'s pixels); the row "zero-skipping off" is the same training with dense products only.' : ''));
  return parts.join('\n') + '\n';
}

// ---------------- SVG ----------------

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars of the throughput ratios (log scale, a line at 1×). */
export function svgChart(s: Summary): string {
  const bars: { label: string; r: number }[] = [];
  const names: Record<Exclude<Metric, 'rss'>, string> = { train: 'train', infer: 'inference', epoch: 'epoch' };
  for (const model of MODELS.filter((k) => s.train[k]))
    for (const m of ['train', 'infer', 'epoch'] as const)
      for (const p of PEERS) {
        const r = ratio(s.train[model]!.tensorbolt, s.train[model]![p], m);
        if (r !== null && r > 0) bars.push({ label: `${model.toUpperCase()} ${names[m]} vs ${p}`, r });
      }
  const extraBar = (label: string, e: TrainEntry | undefined, model: ModelKind) => {
    const peer = s.train[model]?.PyTorch;
    const r = e && peer ? ratio(e, peer, 'train') : null;
    if (r !== null && r > 0) bars.push({ label, r });
  };
  extraBar('MLP train, zero-skipping off, vs PyTorch', s.mlpDense, 'mlp');
  extraBar('MLP train, PyTorch-style loop, vs PyTorch', s.torchStyle?.mlp, 'mlp');
  extraBar('CNN train, PyTorch-style NCHW, vs PyTorch', s.torchStyle?.cnn, 'cnn');
  extraBar('CNN train, bf16, vs PyTorch', s.cnnBf16, 'cnn');
  if (s.conv && typeof s.conv.tensorbolt !== 'string' && typeof s.conv.PyTorch !== 'string')
    for (const key of Object.keys(s.conv.tensorbolt)) {
      const a = s.conv.tensorbolt[key];
      const b = s.conv.PyTorch[key];
      if (a && b) bars.push({ label: `${key} vs PyTorch`, r: median(b) / median(a) });
    }
  const W = 900, left = 260, right = 70, top = 50, rowH = 22;
  const H = top + bars.length * rowH + 40;
  const lo = Math.min(1, ...bars.map((b) => b.r));
  const hi = Math.max(1, ...bars.map((b) => b.r));
  const l0 = Math.floor(Math.log10(lo) * 2) / 2;
  const l1 = Math.max(l0 + 0.5, Math.ceil(Math.log10(hi) * 2) / 2);
  const x = (r: number) => left + ((Math.log10(r) - l0) / (l1 - l0)) * (W - left - right);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(`tensorbolt ÷ peer, throughput (log scale; right of 1× = tensorbolt faster)${s.quick ? ' — quick run' : ''}`)}</text>`,
    `<text x="${W / 2}" y="38" text-anchor="middle" fill="#555">${esc(s.date)}</text>`,
  ];
  for (let e = Math.ceil(l0); e <= Math.floor(l1); e++)
    for (const m of [1, 2, 5]) {
      const r = m * 10 ** e;
      if (Math.log10(r) < l0 || Math.log10(r) > l1) continue;
      out.push(`<line x1="${x(r).toFixed(1)}" y1="${top - 4}" x2="${x(r).toFixed(1)}" y2="${H - 30}" stroke="${r === 1 ? '#000' : '#ddd'}" stroke-width="${r === 1 ? 1.5 : 1}"/>`);
      out.push(`<text x="${x(r).toFixed(1)}" y="${H - 14}" text-anchor="middle" fill="#333">${r >= 1 ? r : r.toFixed(-e)}×</text>`);
    }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = x(1), x1 = x(b.r);
    out.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`);
    out.push(`<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${rowH - 8}" fill="${b.r >= 1 ? '#2e7d32' : '#c62828'}"/>`);
    out.push(`<text x="${(b.r >= 1 ? x1 + 4 : x1 - 4).toFixed(1)}" y="${y + 15}" text-anchor="${b.r >= 1 ? 'start' : 'end'}">${fmtRatio(b.r)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
