// Fuzzing conv2d, max/avg pooling (plain and global), batchNorm and dropout: random layouts, kernel
// sizes, strides, paddings (valid, same, explicit, hostile), options and values.
import { describe, it } from 'vitest';
import { accTol, check, dataFor, fc, outcome, tb, value, show } from './harness.js';

const f32 = Math.fround;
type Fmt = 'NHWC' | 'NCHW';

/** Output size and leading pad along one axis, or null when the arguments are invalid. */
function axisRef(inSize: number, k: number, s: number, p: unknown, isPool: boolean): { out: number; pad: number } | null {
  if (p === 'valid') return { out: inSize >= k ? Math.floor((inSize - k) / s) + 1 : 0, pad: 0 };
  if (p === 'same') {
    const out = Math.ceil(inSize / s);
    const total = Math.max((out - 1) * s + k - inSize, 0);
    return { out, pad: Math.floor(total / 2) };
  }
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= k || (isPool && p > k / 2)) return null;
  const span = inSize + 2 * p;
  return { out: span >= k ? Math.floor((span - k) / s) + 1 : 0, pad: p };
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const pairOf = (v: unknown): [number, number] | null => {
  const p = typeof v === 'number' ? [v, v] : v;
  return Array.isArray(p) && p.length === 2 && posInt(p[0]) && posInt(p[1]) ? [p[0], p[1]] : null;
};
const padPair = (v: unknown): [unknown, unknown] | null =>
  v === 'valid' || v === 'same' || typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' ? [v[0], v[1]] : null;

const idx = (fmt: Fmt, n: number, c: number, h: number, w: number, C: number, H: number, W: number) =>
  fmt === 'NHWC' ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;

const stridesArb = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 1.5, [1], 'x', undefined) });
const paddingArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom<unknown>('valid', 'same', undefined) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 'full', 0.5, [1, 'a'], null) });
const fmtArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>('NHWC', 'NCHW', undefined) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('nhwc', 'CHW', 3) });

describe('fuzz: conv2d, pooling, batchNorm, dropout', () => {
  it('conv2d matches a direct float64 convolution (or throws on bad shapes and options)', () => {
    const arb = fc.record({
      n: fc.integer({ min: 0, max: 2 }), c: fc.integer({ min: 0, max: 3 }), h: fc.integer({ min: 0, max: 6 }), w: fc.integer({ min: 0, max: 6 }),
      oc: fc.integer({ min: 1, max: 3 }), kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }), wc: fc.integer({ min: 0, max: 3 }),
      strides: stridesArb, padding: paddingArb, fmt: fmtArb, bias: fc.constantFrom<'none' | 'ok' | 'bad'>('none', 'ok', 'bad'),
    }).chain((p) => fc.tuple(fc.constant(p), dataFor([p.n * p.c * p.h * p.w], value(3)), dataFor([p.kh * p.kw * (p.wc % 2 ? p.wc : p.c) * p.oc], value(3)), dataFor([p.oc], value(3))));
    check('conv2d', arb, ([p, xd, wd, bd]) => {
      const fmt = (p.fmt ?? 'NHWC') as Fmt;
      const wc = p.wc % 2 ? p.wc : p.c; // sometimes a channel mismatch
      const xShape = fmt === 'NHWC' ? [p.n, p.h, p.w, p.c] : [p.n, p.c, p.h, p.w];
      const wShape = fmt === 'NHWC' ? [p.kh, p.kw, wc, p.oc] : [p.oc, wc, p.kh, p.kw];
      outcome(`conv2d x${show(xShape)} w${show(wShape)} s=${show(p.strides)} p=${show(p.padding)} ${String(p.fmt)} bias ${p.bias}`, () => {
        const x = tb.tensor(Float32Array.from(xd), xShape);
        const w = tb.tensor(Float32Array.from(wd), wShape);
        const b = p.bias === 'none' ? null : tb.tensor(Float32Array.from(p.bias === 'ok' ? bd : [...bd, 1]));
        return tb.conv2d(x, w, b, { strides: p.strides as number, padding: p.padding as 'same', dataFormat: p.fmt as Fmt });
      }, () => {
        const bad = { throws: true } as const;
        if (p.fmt !== undefined && p.fmt !== 'NHWC' && p.fmt !== 'NCHW') return bad;
        const st = pairOf(p.strides ?? 1);
        const pp = padPair(p.padding ?? 'valid');
        if (!st || !pp || wc !== p.c || p.c === 0 || p.h === 0 || p.w === 0 || p.bias === 'bad') return bad;
        const ay = axisRef(p.h, p.kh, st[0], pp[0], false), ax = axisRef(p.w, p.kw, st[1], pp[1], false);
        if (!ay || !ax || ay.out < 1 || ax.out < 1) return bad;
        const out: number[] = [], tols: number[] = [];
        const oShape = fmt === 'NHWC' ? [p.n, ay.out, ax.out, p.oc] : [p.n, p.oc, ay.out, ax.out];
        const widx = (o: number, c: number, i: number, j: number) => (fmt === 'NHWC' ? ((i * p.kw + j) * p.c + c) * p.oc + o : ((o * p.c + c) * p.kh + i) * p.kw + j);
        const val = new Map<number, [number, number]>();
        for (let n = 0; n < p.n; n++)
          for (let o = 0; o < p.oc; o++)
            for (let y = 0; y < ay.out; y++)
              for (let x = 0; x < ax.out; x++) {
                const terms: number[] = p.bias === 'ok' ? [f32(bd[o]!)] : [];
                for (let c = 0; c < p.c; c++)
                  for (let i = 0; i < p.kh; i++)
                    for (let j = 0; j < p.kw; j++) {
                      const iy = y * st[0] - ay.pad + i, ix = x * st[1] - ax.pad + j;
                      // zero padding: the weight still multiplies a 0 (so a NaN or Inf weight gives NaN, as im2col does)
                      const xv = iy < 0 || iy >= p.h || ix < 0 || ix >= p.w ? 0 : f32(xd[idx(fmt, n, c, iy, ix, p.c, p.h, p.w)]!);
                      terms.push(xv * f32(wd[widx(o, c, i, j)]!));
                    }
                val.set(idx(fmt, n, o, y, x, p.oc, ay.out, ax.out), [terms.reduce((a, b) => a + b, 0), accTol(terms)]);
              }
        for (let k = 0; k < val.size; k++) {
          out.push(val.get(k)![0]);
          tols.push(val.get(k)![1]);
        }
        return { shape: oShape, data: out, tols, atol: 1e-5 };
      });
    });
  });

  it('max / avg pooling (windows, strides, padding, global) match references; NaN propagates through max', () => {
    const arb = fc.record({
      kind: fc.constantFrom('max', 'avg', 'globalMax', 'globalAvg'),
      n: fc.integer({ min: 0, max: 2 }), c: fc.integer({ min: 0, max: 3 }), h: fc.integer({ min: 0, max: 6 }), w: fc.integer({ min: 0, max: 6 }),
      pool: fc.oneof({ weight: 6, arbitrary: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(0, undefined, [2], 'x', 2.5) }),
      strides: fc.oneof(fc.constant(undefined), stridesArb), padding: paddingArb, fmt: fmtArb,
    }).chain((p) => fc.tuple(fc.constant(p), dataFor([p.n * p.c * p.h * p.w], value())));
    check('pool', arb, ([p, xd]) => {
      const fmt = (p.fmt ?? 'NHWC') as Fmt;
      const xShape = fmt === 'NHWC' ? [p.n, p.h, p.w, p.c] : [p.n, p.c, p.h, p.w];
      const global = p.kind.startsWith('global');
      const isMax = p.kind === 'max' || p.kind === 'globalMax';
      outcome(`${p.kind} ${show(xShape)} pool=${show(p.pool)} s=${show(p.strides)} p=${show(p.padding)} ${String(p.fmt)}`, () => {
        const x = tb.tensor(Float32Array.from(xd), xShape);
        if (p.kind === 'globalMax') return tb.globalMaxPool2d(x, p.fmt as Fmt);
        if (p.kind === 'globalAvg') return tb.globalAvgPool2d(x, p.fmt as Fmt);
        const o = { poolSize: p.pool as number, strides: p.strides as number, padding: p.padding as 'same', dataFormat: p.fmt as Fmt };
        return isMax ? tb.maxPool2d(x, o) : tb.avgPool2d(x, o);
      }, () => {
        const bad = { throws: true } as const;
        if (p.fmt !== undefined && p.fmt !== 'NHWC' && p.fmt !== 'NCHW') return bad;
        if (p.c === 0 || p.h === 0 || p.w === 0) return bad;
        const k = global ? [p.h, p.w] as [number, number] : pairOf(p.pool);
        const st = global ? k : pairOf(p.strides ?? k);
        const pp = global ? ['valid', 'valid'] : padPair(p.padding ?? 'valid');
        if (!k || !st || !pp) return bad;
        const ay = axisRef(p.h, k[0], st[0], pp[0], true), ax = axisRef(p.w, k[1], st[1], pp[1], true);
        if (!ay || !ax || ay.out < 1 || ax.out < 1) return bad;
        const oShape = global ? [p.n, p.c] : fmt === 'NHWC' ? [p.n, ay.out, ax.out, p.c] : [p.n, p.c, ay.out, ax.out];
        const vals = new Map<number, [number, number]>();
        for (let n = 0; n < p.n; n++)
          for (let c = 0; c < p.c; c++)
            for (let y = 0; y < ay.out; y++)
              for (let x = 0; x < ax.out; x++) {
                const cells: number[] = [];
                for (let i = 0; i < k[0]; i++)
                  for (let j = 0; j < k[1]; j++) {
                    const iy = y * st[0] - ay.pad + i, ix = x * st[1] - ax.pad + j;
                    if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) cells.push(f32(xd[idx(fmt, n, c, iy, ix, p.c, p.h, p.w)]!));
                  }
                const v = cells.some(Number.isNaN) ? NaN : isMax ? Math.max(...cells) : cells.reduce((a, b) => a + b, 0) / cells.length;
                const tol = isMax ? 0 : accTol(cells) / cells.length;
                vals.set(global ? n * p.c + c : idx(fmt, n, c, y, x, p.c, ay.out, ax.out), [v, tol]);
              }
        const data = Array.from({ length: vals.size }, (_, i) => vals.get(i)![0]);
        const tols = Array.from({ length: vals.size }, (_, i) => vals.get(i)![1]);
        return { shape: oShape, data, tols, atol: 1e-5, rtol: 1e-5 };
      });
    });
  });

  it('batchNorm (training and eval) matches the formula and updates the running statistics', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }), training: fc.oneof(fc.boolean(), fc.constantFrom<unknown>(undefined, 1)),
      momentum: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom<unknown>(undefined, -0.1, 1.5, NaN)),
      eps: fc.oneof(fc.double({ min: 1e-6, max: 0.1, noNaN: true }), fc.constantFrom<unknown>(undefined, 0, -1, Infinity)),
      axis: fc.oneof(fc.integer({ min: -4, max: 3 }), fc.constantFrom<unknown>(undefined, 0.5)), affine: fc.boolean(), tameValues: fc.boolean(),
    }).chain((p) => fc.tuple(fc.constant(p), dataFor(p.shape, p.tameValues ? fc.double({ min: -3, max: 3, noNaN: true }).map(f32) : value()),
      dataFor([3], fc.double({ min: 0.5, max: 2, noNaN: true })), dataFor([3], fc.double({ min: -1, max: 1, noNaN: true }))));
    check('batchNorm', arb, ([p, xd, g, b]) => {
      const r = p.shape.length;
      const a0 = p.axis === undefined ? -1 : p.axis;
      const axOk = typeof a0 === 'number' && Number.isInteger(a0) && a0 >= -r && a0 < r;
      const ax = axOk ? ((a0 as number) < 0 ? (a0 as number) + r : (a0 as number)) : 0;
      const C = p.shape[ax]!;
      const mom = p.momentum === undefined ? 0.1 : p.momentum;
      const eps = p.eps === undefined ? 1e-5 : p.eps;
      const outer = p.shape.slice(0, ax).reduce((x, y) => x * y, 1), inner = p.shape.slice(ax + 1).reduce((x, y) => x * y, 1);
      let rmGot: Float32Array | null = null, rvGot: Float32Array | null = null;
      const rm0 = Array.from({ length: C }, (_, i) => 0.1 * i), rv0 = Array.from({ length: C }, (_, i) => 1 + 0.5 * i);
      outcome(`batchNorm ${show(p.shape)} axis ${String(p.axis)} training ${String(p.training)} m=${String(p.momentum)} eps=${String(p.eps)}`, () => {
        const x = tb.tensor(Float32Array.from(xd), p.shape);
        const rm = tb.tensor(Float32Array.from(rm0)), rv = tb.tensor(Float32Array.from(rv0));
        const params = { gamma: p.affine ? tb.tensor(Float32Array.from(g.slice(0, C))) : null, beta: p.affine ? tb.tensor(Float32Array.from(b.slice(0, C))) : null, runningMean: rm, runningVar: rv };
        const y = tb.batchNorm(x, params, { training: p.training as boolean, momentum: mom as number, eps: eps as number, axis: p.axis as number });
        rmGot = rm.dataSync() as Float32Array;
        rvGot = rv.dataSync() as Float32Array;
        return y;
      }, () => {
        if (typeof p.training !== 'boolean' || !axOk || typeof mom !== 'number' || !(mom >= 0 && mom <= 1) || typeof eps !== 'number' || !(eps > 0 && Number.isFinite(eps))) return { throws: true };
        if (p.training && outer * inner === 1) return { throws: true };
        if (!xd.every((v) => Number.isFinite(v) && Math.abs(v) < 1e4)) return { any: true };
        const chan = (i: number) => Math.floor(i / inner) % C;
        const mean = new Array<number>(C).fill(0), vr = new Array<number>(C).fill(0), cnt = outer * inner;
        xd.forEach((v, i) => (mean[chan(i)] += f32(v) / cnt));
        xd.forEach((v, i) => (vr[chan(i)] += (f32(v) - mean[chan(i)]!) ** 2 / cnt));
        const useM = p.training ? mean : rm0, useV = p.training ? vr : rv0;
        const data = xd.map((v, i) => {
          const c = chan(i);
          return (f32(v) - useM[c]!) / Math.sqrt(useV[c]! + f32(eps as number)) * (p.affine ? f32(g[c]!) : 1) + (p.affine ? f32(b[c]!) : 0);
        });
        if (p.training) {
          for (let c = 0; c < C; c++) {
            const em = (1 - mom) * rm0[c]! + mom * mean[c]!;
            const ev = (1 - mom) * rv0[c]! + mom * vr[c]! * cnt / (cnt - 1);
            if (Math.abs(rmGot![c]! - em) > 1e-4 * (1 + Math.abs(em)) || Math.abs(rvGot![c]! - ev) > 1e-4 * (1 + Math.abs(ev)))
              throw new Error(`running stats of channel ${c}: got ${rmGot![c]}, ${rvGot![c]}; expected ${em}, ${ev}`);
          }
        }
        return { shape: p.shape, data, atol: 1e-4, rtol: 1e-4 };
      });
    });
  });

  it('dropout: every output is 0 or x/(1-rate), seeded masks repeat, bad rates throw', () => {
    const arb = fc.tuple(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).chain((s) => fc.tuple(fc.constant(s), dataFor(s, value()))),
      fc.oneof(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.constantFrom<unknown>(1, -0.1, NaN, '0.5', undefined)),
      fc.oneof(fc.constant(undefined), fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom<unknown>(1.5, 2 ** 60, 'x')),
      fc.oneof(fc.constant(undefined), fc.boolean(), fc.constantFrom<unknown>(1, 'yes')));
    check('dropout', arb, ([[s, xd], rate, seed, training]) => {
      outcome(`dropout rate ${String(rate)} seed ${String(seed)} training ${String(training)}`, () => {
        const x = tb.tensor(Float32Array.from(xd), s);
        const y = tb.dropout(x, rate as number, { seed: seed as number, training: training as boolean });
        const yd = y.dataSync();
        const scale = f32(1 / (1 - (rate as number)));
        yd.forEach((v, i) => {
          const xv = f32(xd[i]!);
          const ok = [f32(xv * 0), f32(xv * scale), f32(xv)].some((e) => Object.is(e, v) || (Number.isNaN(e) && Number.isNaN(v)) || e === v);
          if (!ok) throw new Error(`dropout[${i}] = ${v} from x = ${xv}, scale ${scale}`);
        });
        if (seed !== undefined && training !== false) {
          const again = tb.dropout(x, rate as number, { seed: seed as number, training: true }).dataSync();
          yd.forEach((v, i) => {
            if (!(Object.is(v, again[i]) || (Number.isNaN(v) && Number.isNaN(again[i]!)))) throw new Error(`seeded dropout differs at ${i}`);
          });
        }
        return y;
      }, () => {
        const rateOk = typeof rate === 'number' && rate >= 0 && rate < 1;
        const seedOk = seed === undefined || (typeof seed === 'number' && Number.isSafeInteger(seed));
        const trOk = training === undefined || typeof training === 'boolean';
        return rateOk && seedOk && trOk ? { any: true } : { throws: true };
      });
    });
  });
});
