// Fuzzing the layout ops (reshape, flatten, squeeze, expandDims, transpose/permute, slice, concat,
// stack, gather, oneHot, broadcastTo, pad) and tensor creation, with hostile shapes, axes, indices,
// paddings and sizes no typed array can hold.
import { describe, it } from 'vitest';
import { accTol, bindex, broadcast, broadcastPair, check, dataFor, fc, make, outcome, shape, sizeOf, strides, tb, tspec, value, type TSpec, show } from './harness.js';

const f32 = Math.fround;
const intsArb = (lo: number, hi: number, maxLen: number) => fc.array(fc.integer({ min: lo, max: hi }), { maxLength: maxLen });
const junkList = fc.constantFrom<unknown>(null, 'x', [1.5], [NaN], {}, [[1]], ['0']);
/** Values the reference reads back: int tensors hold integers, float tensors float32-rounded values. */
const vals = (x: TSpec) => x.data.map((v) => (x.dtype === 'int32' ? v : f32(v)));

/** Output element o of a permutation: the input index it came from. */
function permuteRef(x: TSpec, p: number[]): number[] {
  const out = p.map((a) => x.shape[a]!);
  const so = strides(out), sx = strides(x.shape);
  return Array.from({ length: sizeOf(out) }, (_, o) => {
    let k = 0;
    for (let d = 0; d < out.length; d++) k += (Math.floor(o / so[d]!) % out[d]!) * sx[p[d]!]!;
    return vals(x)[k]!;
  });
}

/** Index of output element o of a block copy with per-axis starts. */
function blockRef(x: TSpec, start: number[], outShape: number[]): number[] {
  const so = strides(outShape), sx = strides(x.shape);
  return Array.from({ length: sizeOf(outShape) }, (_, o) => {
    let k = 0;
    for (let d = 0; d < outShape.length; d++) k += ((Math.floor(o / so[d]!) % outShape[d]!) + start[d]!) * sx[d]!;
    return vals(x)[k]!;
  });
}

describe('fuzz: layout and creation', () => {
  it('reshape (with -1), flatten, squeeze, expandDims', () => {
    const arb = fc.tuple(tspec(shape(4, 4)), fc.constantFrom('reshape', 'flatten', 'squeeze', 'expandDims'),
      fc.oneof(intsArb(-2, 8, 5), fc.integer({ min: -5, max: 5 }), fc.constant(undefined), junkList));
    check('reshape', arb, ([x, op, arg]) => {
      const r = x.shape.length;
      const t = () => make(x);
      outcome(`${op}(${show(x.shape)}, ${String(arg)})`, () => {
        if (op === 'reshape') return tb.reshape(t(), arg as number[]);
        if (op === 'flatten') return tb.flatten(t());
        if (op === 'squeeze') return tb.squeeze(t(), arg as number);
        return tb.expandDims(t(), arg as number);
      }, () => {
        const bad = { throws: true } as const;
        const same = (s: number[]) => ({ shape: s, data: vals(x), atol: 0, rtol: 0 });
        if (op === 'flatten') return same(r === 0 ? [1] : [x.shape[0]!, sizeOf(x.shape.slice(1))]);
        const axisOk = (a: unknown, rank: number) => typeof a === 'number' && Number.isInteger(a) && a >= -rank && a < rank;
        const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);
        if (op === 'expandDims') {
          const a = arg === undefined ? 0 : arg;
          if (!axisOk(a, r + 1)) return bad;
          const s = x.shape.slice();
          s.splice(norm(a as number, r + 1), 0, 1);
          return same(s);
        }
        if (op === 'squeeze') {
          if (arg === undefined) return same(x.shape.filter((d) => d !== 1));
          const list = Array.isArray(arg) ? arg : [arg];
          if (!list.every((a) => axisOk(a, r))) return bad;
          const axes = list.map((a) => norm(a as number, r));
          if (axes.some((a) => x.shape[a] !== 1)) return bad;
          return same(x.shape.filter((_, i) => !axes.includes(i)));
        }
        if (!Array.isArray(arg) || !arg.every((d) => typeof d === 'number' && Number.isInteger(d))) return bad;
        const s = (arg as number[]).slice();
        if (s.filter((d) => d === -1).length > 1) return bad;
        if (s.includes(-1)) {
          const known = s.reduce((p, d) => (d === -1 ? p : p * d), 1);
          if (known === 0 || sizeOf(x.shape) % known !== 0) return bad;
          s[s.indexOf(-1)] = sizeOf(x.shape) / known;
        }
        if (s.some((d) => d < 0) || s.length > 8 || sizeOf(s) !== sizeOf(x.shape)) return bad;
        return same(s);
      });
    });
  });

  it('transpose / permute with any perm', () => {
    const arb = tspec(shape(4, 3), value(), 2).chain((x) => fc.tuple(fc.constant(x), fc.oneof(
      fc.shuffledSubarray(x.shape.map((_, i) => i), { minLength: x.shape.length, maxLength: x.shape.length }),
      intsArb(-x.shape.length - 1, x.shape.length, x.shape.length + 1), fc.constant(undefined), junkList)));
    check('permute', arb, ([x, perm]) => {
      const r = x.shape.length;
      outcome(`transpose ${show(x.shape)} ${show(perm)}`, () => tb.transpose(make(x), perm as number[]), () => {
        let p: number[];
        if (perm === undefined) p = x.shape.map((_, i) => r - 1 - i);
        else {
          if (!Array.isArray(perm) || perm.length !== r || !perm.every((a) => typeof a === 'number' && Number.isInteger(a))) return { throws: true };
          p = (perm as number[]).map((a) => (a < 0 ? a + r : a));
          if (p.some((a) => a < 0 || a >= r) || new Set(p).size !== r) return { throws: true };
        }
        return { shape: p.map((a) => x.shape[a]!), data: permuteRef(x, p), atol: 0, rtol: 0 };
      });
    });
  });

  it('slice with any begin / size', () => {
    const arb = tspec(shape(4, 4), value(), 2).chain((x) => fc.tuple(fc.constant(x),
      fc.oneof(intsArb(-1, 5, x.shape.length + 1), fc.integer({ min: -1, max: 5 }), junkList),
      fc.oneof(intsArb(-2, 5, x.shape.length + 1), fc.integer({ min: -2, max: 5 }), fc.constant(undefined), junkList)));
    check('slice', arb, ([x, begin, size]) => {
      outcome(`slice ${show(x.shape)} ${show(begin)} ${show(size)}`, () => tb.slice(make(x), begin as number[], size as number[]), () => {
        const list = (v: unknown) => (typeof v === 'number' ? [v] : v);
        const b = list(begin), s = size === undefined ? [] : list(size);
        const ints = (v: unknown) => Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isInteger(d));
        if (!ints(b) || !ints(s)) return { throws: true };
        const bb = b as number[], ss = s as number[];
        if (bb.length > x.shape.length || ss.length > x.shape.length) return { throws: true };
        const start: number[] = [], out: number[] = [];
        for (let i = 0; i < x.shape.length; i++) {
          const d = x.shape[i]!, bi = bb[i] ?? 0, si = (ss[i] ?? -1) === -1 ? d - bi : ss[i]!;
          if (bi < 0 || si < 0 || bi + si > d) return { throws: true };
          start.push(bi);
          out.push(si);
        }
        return { shape: out, data: blockRef(x, start, out), atol: 0, rtol: 0 };
      });
    });
  });

  it('concat and stack of 1-3 tensors along any axis', () => {
    const arb = fc.tuple(shape(3, 3), fc.integer({ min: 1, max: 3 }), fc.boolean()).chain(([base, k, isStack]) =>
      fc.tuple(fc.constant(isStack), fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.constantFrom('float32' as const, 'float32' as const, 'int32' as const))
        .chain(([d, mess, dtype]) => {
          const s = base.slice();
          if (s.length > 0 && mess) s[0] = d;
          return tspec(fc.constant(s), value(), 0).map((t) => ({ ...t, dtype, data: dtype === 'int32' ? t.data.map((v) => (Number.isFinite(v) ? Math.trunc(v) % 100 : 0)) : t.data }));
        }), { minLength: k, maxLength: k }),
      fc.oneof(fc.integer({ min: -4, max: 3 }), fc.constantFrom<unknown>(undefined, 0.5, 'x'))));
    check('concat', arb, ([isStack, specs, axis]) => {
      outcome(`${isStack ? 'stack' : 'concat'} ${specs.map((s) => show(s.shape)).join(' ')} axis ${String(axis)}`,
        () => (isStack ? tb.stack : tb.concat)(specs.map((s) => make(s)), axis as number), () => {
          const first = specs[0]!;
          if (specs.some((s) => s.dtype !== first.dtype)) return { throws: true };
          const r = first.shape.length;
          const a0 = axis === undefined ? 0 : axis;
          const rank = isStack ? r + 1 : r;
          if (typeof a0 !== 'number' || !Number.isInteger(a0) || a0 < -rank || a0 >= rank || (!isStack && r === 0)) return { throws: true };
          const a = a0 < 0 ? a0 + rank : a0;
          const parts = isStack
            ? specs.map((s) => {
              if (s.shape.join() !== first.shape.join()) return null;
              const sh = s.shape.slice();
              sh.splice(a, 0, 1);
              return { ...s, shape: sh };
            })
            : specs.map((s) => (s.shape.length === r && s.shape.every((d, j) => j === a || d === first.shape[j]) ? s : null));
          if (parts.some((p) => !p)) return { throws: true };
          const ps = parts as TSpec[];
          const outShape = ps[0]!.shape.slice();
          outShape[a] = ps.reduce((acc, p) => acc + p.shape[a]!, 0);
          const outer = sizeOf(outShape.slice(0, a)), inner = sizeOf(outShape.slice(a + 1));
          const data: number[] = [];
          for (let o = 0; o < outer; o++) for (const p of ps) data.push(...vals(p).slice(o * p.shape[a]! * inner, (o + 1) * p.shape[a]! * inner));
          return { shape: outShape, data, atol: 0, rtol: 0 };
        });
    });
  });

  it('gather with tensor, array and typed-array indices (out of range throws)', () => {
    const arb = tspec(shape(3, 4, 1).filter((s) => s.length > 0), value(), 2).chain((x) => fc.tuple(fc.constant(x),
      fc.oneof(intsArb(-1, 5, 4), fc.array(intsArb(0, 3, 2), { minLength: 1, maxLength: 2 }).filter((a) => a.every((r) => r.length === a[0]!.length)),
        fc.constantFrom<unknown>([0.5], 'x', null, [NaN], 'float-tensor')),
      fc.constantFrom<'array' | 'tensor' | 'typed'>('array', 'tensor', 'typed'),
      fc.oneof(fc.integer({ min: -4, max: 3 }), fc.constantFrom<unknown>(undefined, 1.5))));
    check('gather', arb, ([x, idx, form, axis]) => {
      const isIntArr = Array.isArray(idx) && (idx as unknown[]).flat().every((v) => typeof v === 'number' && Number.isInteger(v));
      outcome(`gather ${show(x.shape)} ${show(idx)} (${form}) axis ${String(axis)}`, () => {
        let ind: unknown = idx === 'float-tensor' ? tb.tensor([0, 1]) : idx;
        if (isIntArr && form === 'tensor') ind = tb.tensor(idx as tb.NestedArray, undefined, 'int32');
        if (isIntArr && form === 'typed' && !(idx as unknown[]).some(Array.isArray)) ind = Int32Array.from(idx as number[]);
        return tb.gather(make(x), ind as number[], axis as number);
      }, () => {
        const r = x.shape.length;
        const a0 = axis === undefined ? 0 : axis;
        if (!isIntArr || typeof a0 !== 'number' || !Number.isInteger(a0) || a0 < -r || a0 >= r) return { throws: true };
        const a = a0 < 0 ? a0 + r : a0;
        const flat = (idx as unknown[]).flat() as number[];
        if (flat.some((v) => v < 0 || v >= x.shape[a]!)) return { throws: true };
        const idxShape = Array.isArray((idx as unknown[])[0]) ? [(idx as unknown[]).length, ((idx as unknown[])[0] as unknown[]).length] : [(idx as unknown[]).length];
        const outer = sizeOf(x.shape.slice(0, a)), dim = x.shape[a]!, inner = sizeOf(x.shape.slice(a + 1));
        const data: number[] = [];
        for (let o = 0; o < outer; o++) for (const k of flat) data.push(...vals(x).slice((o * dim + k) * inner, (o * dim + k + 1) * inner));
        return { shape: [...x.shape.slice(0, a), ...idxShape, ...x.shape.slice(a + 1)], data, atol: 0, rtol: 0 };
      });
    });
  });

  it('oneHot with any depth, on/off values and indices', () => {
    check('oneHot', fc.tuple(intsArb(-1, 5, 5), fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constantFrom<unknown>(1.5, NaN, '3', undefined)), value(), value()), ([idx, depth, on, off]) => {
      outcome(`oneHot ${show(idx)} depth ${String(depth)}`, () => tb.oneHot(idx, depth as number, on, off), () => {
        if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1 || Number.isNaN(on) || Number.isNaN(off)) return { throws: true };
        if (idx.some((v) => v < 0 || v >= depth)) return { throws: true };
        return { shape: [idx.length, depth], data: idx.flatMap((v) => Array.from({ length: depth }, (_, j) => (j === v ? f32(on) : f32(off)))), atol: 0, rtol: 0 };
      });
    });
  });

  it('broadcastTo and pad', () => {
    const arb = fc.tuple(fc.boolean(), tspec(shape(3, 3), value(), 2)).chain(([isPad, x]) => fc.tuple(fc.constant(isPad), fc.constant(x),
      isPad
        ? fc.oneof(fc.array(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: x.shape.length, maxLength: x.shape.length }),
          fc.constant([[0, 2 ** 40]]), junkList)
        : fc.oneof(fc.tuple(intsArb(1, 3, 2), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 })).map(([lead, keep]) =>
          [...lead, ...x.shape.map((d, i) => (d === 1 && !keep[i] ? 3 : d))]), intsArb(0, 4, 4), junkList),
      fc.oneof(value(), fc.constantFrom<unknown>(NaN, 'x'))));
    check('broadcastPad', arb, ([isPad, x, arg, v]) => {
      outcome(`${isPad ? 'pad' : 'broadcastTo'} ${show(x.shape)} ${show(arg)}`, () =>
        (isPad ? tb.pad(make(x), arg as [number, number][], v as number) : tb.broadcastTo(make(x), arg as number[])), () => {
        if (isPad) {
          if (typeof v !== 'number' || Number.isNaN(v) || !Array.isArray(arg) || arg.length !== x.shape.length) return { throws: true };
          const pads = arg as unknown[];
          if (!pads.every((p) => Array.isArray(p) && p.length === 2 && p.every((q) => typeof q === 'number' && Number.isInteger(q) && q >= 0))) return { throws: true };
          const pp = pads as [number, number][];
          const out = x.shape.map((d, i) => d + pp[i]![0] + pp[i]![1]);
          if (sizeOf(out) > 2 ** 32) return { throws: true };
          const so = strides(out), sx = strides(x.shape);
          // int32: NaN fills 0, anything else truncates and saturates (±Infinity too), as the cast does
          const fillV = x.dtype === 'int32' ? (Number.isNaN(v) ? 0 : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(v)))) : f32(v);
          const data = Array.from({ length: sizeOf(out) }, (_, o) => {
            let k = 0;
            for (let d = 0; d < out.length; d++) {
              const i = (Math.floor(o / so[d]!) % out[d]!) - pp[d]![0];
              if (i < 0 || i >= x.shape[d]!) return fillV;
              k += i * sx[d]!;
            }
            return vals(x)[k]!;
          });
          return { shape: out, data, atol: 0, rtol: 0 };
        }
        if (!Array.isArray(arg) || !arg.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0) || arg.length > 8) return { throws: true };
        const target = arg as number[];
        const lead = target.length - x.shape.length;
        if (lead < 0 || x.shape.some((d, i) => d !== 1 && d !== target[i + lead])) return { throws: true };
        return { shape: target, data: Array.from({ length: sizeOf(target) }, (_, o) => vals(x)[bindex(o, target, x.shape)]!), atol: 0, rtol: 0 };
      });
    });
  });

  it('sumToShape folds a broadcast back onto the operand shape (or throws when it is not one)', () => {
    const arb = broadcastPair(4).chain(([sa, sb]) => fc.tuple(fc.constant(sa), fc.constant(sb), dataFor(broadcast(sa, sb)!, value(4)), fc.boolean()));
    check('sumToShape', arb, ([target, other, data, junkTarget]) => {
      const out = broadcast(target, other)!;
      const t = junkTarget ? [...target, 7] : target;
      outcome(`sumToShape ${show(out)} -> ${show(t)}`, () => tb.sumToShape(tb.tensor(Float32Array.from(data), out), t), () => {
        const lead = out.length - t.length;
        const ok = lead >= 0 && t.every((d, i) => d === out[i + lead] || d === 1);
        if (!ok) return { throws: true };
        const groups: number[][] = Array.from({ length: sizeOf(t) }, () => []);
        data.forEach((v, i) => groups[bindex(i, out, t)]!.push(f32(v)));
        return { shape: t, data: groups.map((g) => g.reduce((a, b) => a + b, 0)), tols: groups.map((g) => accTol(g)), atol: 1e-5 };
      });
    });
  });

  it('creation: tensor, full/zeros/ones, arange, eye, rand/randn/randint, toCategorical, with hostile shapes and sizes', () => {
    const hostileShape = fc.oneof(
      { weight: 4, arbitrary: shape(3, 4) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>([-1], [1.5], [NaN], ['2'], 'x', null, [2 ** 33], [2 ** 17, 2 ** 17], [65536, 65536, 2], [1, 1, 1, 1, 1, 1, 1, 1, 1]) },
    );
    const arb = fc.tuple(fc.constantFrom('tensor', 'full', 'zeros', 'ones', 'arange', 'eye', 'rand', 'randn', 'randint', 'toCategorical'),
      hostileShape, value(), value(), fc.oneof(fc.constant(undefined), fc.constantFrom<unknown>('float32', 'int32', 'float64', 7)));
    check('creation', arb, ([op, s, a, b, dtype]) => {
      const sh = s as number[];
      const shapeOk = Array.isArray(s) && s.length <= 8 && s.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0);
      const tooBig = shapeOk && sizeOf(sh) > 2 ** 32;
      const dtOk = dtype === undefined || dtype === 'float32' || dtype === 'int32';
      outcome(`${op} ${show(s)} ${a} ${b} ${String(dtype)}`, () => {
        switch (op) {
          case 'tensor': return tb.tensor(Float32Array.from({ length: shapeOk && !tooBig ? sizeOf(sh) : 3 }, () => a), sh, dtype as 'int32');
          case 'full': return tb.full(sh, a, dtype as 'int32');
          case 'zeros': return tb.zeros(sh, dtype as 'int32');
          case 'ones': return tb.ones(sh, dtype as 'int32');
          case 'arange': return tb.arange(a, b, (sh && sh[0]) || 1, dtype as 'int32');
          case 'eye': return tb.eye(a, b);
          case 'rand': return tb.rand(sh, a, b, { seed: 1 });
          case 'randn': return tb.randn(sh, a, b, { seed: 1 });
          case 'randint': return tb.randint(a, b, sh, { seed: 1 });
          default: return tb.toCategorical(tb.tensor(Int32Array.from([0, 1, 2].map((v) => v % 3))), a);
        }
      }, () => {
        switch (op) {
          case 'tensor': case 'full': case 'zeros': case 'ones': {
            if (op === 'tensor' && s === null && dtOk) return { any: true }; // a null shape means "not given"
            if (!shapeOk || !dtOk || tooBig) return { throws: true };
            const fillV = op === 'zeros' ? 0 : op === 'ones' ? 1 : a;
            const int = dtype === 'int32';
            const v = int ? (Number.isNaN(f32(fillV)) ? 0 : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(op === 'full' ? fillV : f32(fillV))))) : f32(fillV);
            return { shape: sh, data: new Array(sizeOf(sh)).fill(v), atol: 0, rtol: 0 };
          }
          case 'arange': return { any: true };
          case 'eye': return Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a * b <= 2 ** 32
            ? { shape: [a, b], data: Array.from({ length: a * b }, (_, i) => +(Math.floor(i / b) === i % b)), atol: 0, rtol: 0 }
            : { throws: true };
          case 'randint': return !shapeOk || tooBig || !Number.isInteger(a) || !Number.isInteger(b) || b <= a || a < -(2 ** 31) || b > 2 ** 31 ? { throws: true } : { any: true };
          case 'toCategorical': return Number.isInteger(a) && a >= 3 ? { any: true } : { throws: true };
          default: return !shapeOk || tooBig ? { throws: true } : { any: true };
        }
      });
    });
  });
});

