// Fuzzing the Keras layers (tb.layers.*), the PyTorch-style modules (tb.nn.*), the losses and the
// optimizers: random (often invalid) configurations and inputs. Layers are checked against a
// float64 reference where the layer is a formula (Dense, Linear, Flatten, Reshape, Activation,
// BatchNorm in eval, Dropout outside training) and against the already-fuzzed ops otherwise.
import { describe, it } from 'vitest';
import { accTol, check, dataFor, fc, outcome, own, show, sizeOf, tb, value } from './harness.js';

const f32 = Math.fround;
const F = tb.nn.functional;
const ACTS: Record<string, (v: number) => number> = {
  linear: (v) => v, relu: (v) => (Number.isNaN(v) ? NaN : v < 0 ? 0 : v), sigmoid: (v) => 1 / (1 + Math.exp(-v)), tanh: Math.tanh,
};
const junkCount = fc.constantFrom<unknown>(0, -1, 1.5, NaN, '3', null, undefined, 10n);
const count = (max: number) => fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max }) }, { weight: 1, arbitrary: junkCount });
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const tame = (maxAbs = 3) => fc.double({ min: -maxAbs, max: maxAbs, noNaN: true }).map(f32);

/** x (rows, in) @ w + b with w given (in, out) row-major, in float64. */
function affine(x: ArrayLike<number>, rows: number, inF: number, w: ArrayLike<number>, outF: number, b: ArrayLike<number> | null, wTransposed: boolean) {
  const data: number[] = [], tols: number[] = [];
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      const terms = b ? [b[o]!] : [];
      for (let i = 0; i < inF; i++) terms.push(x[r * inF + i]! * w[wTransposed ? o * inF + i : i * outF + o]!);
      data.push(terms.reduce((a, c) => a + c, 0));
      tols.push(accTol(terms));
    }
  return { data, tols };
}

describe('fuzz: layers, modules, losses, optimizers', () => {
  it('Keras layers: random configs and inputs, applied in inference and training mode', () => {
    const arb = fc.record({
      kind: fc.constantFrom('dense', 'conv2d', 'maxPooling2d', 'averagePooling2d', 'globalAveragePooling2d', 'flatten', 'reshape', 'dropout', 'batchNormalization', 'activation'),
      units: count(4), act: fc.oneof(fc.constantFrom<unknown>('linear', 'relu', 'sigmoid', 'tanh', undefined), fc.constantFrom<unknown>('swish', 3, null)),
      kernel: fc.oneof(count(3), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))),
      padding: fc.constantFrom<unknown>('valid', 'same', undefined, 'full', 1),
      rate: fc.oneof(fc.double({ min: 0, max: 0.9, noNaN: true }), fc.constantFrom<unknown>(1, -1, NaN, undefined)),
      target: fc.oneof(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }), fc.constantFrom<unknown>([-1], [0], 'x', undefined)),
      training: fc.boolean(),
      shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      noArgs: fc.boolean(),
    }).chain((p) => fc.tuple(fc.constant(p), dataFor([2, ...p.shape], value(3))));
    check('kerasLayers', arb, ([p, xd]) => {
      const xShape = [2, ...p.shape];
      const isAct = (a: unknown) => a === undefined || a === null || (typeof a === 'string' && a in ACTS); // null means linear, as in Keras JSON
      outcome(`layers.${p.kind} ${show(p)}`, () => {
        const L = tb.layers as unknown as Record<string, (a?: unknown) => tb.Layer>;
        const args = p.noArgs ? undefined : ({
          dense: { units: p.units, activation: p.act }, conv2d: { filters: p.units, kernelSize: p.kernel, padding: p.padding, activation: p.act },
          maxPooling2d: { poolSize: p.kernel, padding: p.padding }, averagePooling2d: { poolSize: p.kernel, padding: p.padding },
          reshape: { targetShape: p.target }, dropout: { rate: p.rate, seed: 3 }, activation: { activation: p.act },
        } as Record<string, unknown>)[p.kind] ?? {};
        const layer = L[p.kind]!(args);
        own(layer);
        const x = tb.tensor(Float32Array.from(xd), xShape);
        const y = layer.apply(x, { training: p.training });
        if (p.kind === 'dense') {
          const d = layer as unknown as { kernel: tb.Tensor; bias: tb.Tensor | null };
          expectedDense = { k: d.kernel.dataSync(), b: d.bias ? d.bias.dataSync() : null };
        }
        if (p.kind === 'conv2d' || p.kind.endsWith('ooling2d')) viaOps = opsReference(p.kind, layer, x);
        const out = y.dataSync();
        if (p.kind === 'dropout' && p.training && typeof p.rate === 'number') {
          const sc = f32(1 / (1 - p.rate));
          out.forEach((v, i) => {
            const xv = f32(xd[i]!);
            if (![0 * xv, f32(xv * sc)].some((e) => e === v || (Number.isNaN(e) && Number.isNaN(v)))) throw new Error(`dropout value ${v} from ${xv}`);
          });
        }
        return y;
      }, () => {
        const bad = { throws: true } as const;
        const same = (s: number[], data = xd.map(f32)) => ({ shape: s, data, atol: 1e-5, rtol: 1e-5 });
        if (p.noArgs && ['dense', 'conv2d', 'reshape', 'dropout', 'activation'].includes(p.kind)) return bad;
        switch (p.kind) {
          case 'dense': {
            if (!isCount(p.units) || !isAct(p.act)) return bad;
            const inF = p.shape[p.shape.length - 1]!, rows = sizeOf(xShape) / inF;
            const { data, tols } = affine(xd.map(f32), rows, inF, expectedDense!.k, p.units, expectedDense!.b, false);
            const f = ACTS[(p.act as string | null) ?? 'linear']!;
            return { shape: [...xShape.slice(0, -1), p.units], data: data.map(f), tols, atol: 1e-5, rtol: 1e-5 };
          }
          case 'conv2d': case 'maxPooling2d': case 'averagePooling2d': case 'globalAveragePooling2d':
            return viaOps ?? bad;
          case 'flatten': return xShape.length < 2 ? bad : same([2, sizeOf(p.shape)]);
          case 'reshape': {
            // Keras infers one -1 entry
            if (!Array.isArray(p.target) || !p.target.every((d) => isCount(d) || d === -1) || p.target.filter((d) => d === -1).length > 1) return bad;
            const t = (p.target as number[]).slice();
            const known = sizeOf(t.filter((d) => d !== -1));
            if (t.includes(-1)) {
              if (sizeOf(p.shape) % known !== 0) return bad;
              t[t.indexOf(-1)] = sizeOf(p.shape) / known;
            }
            if (sizeOf(t) !== sizeOf(p.shape)) return bad;
            return same([2, ...t]);
          }
          case 'dropout':
            if (!(typeof p.rate === 'number' && p.rate >= 0 && p.rate < 1)) return bad;
            return p.training ? { any: true } : same(xShape);
          case 'batchNormalization':
            // eval: moving mean 0, variance 1, epsilon 1e-3, gamma 1, beta 0
            return p.training ? { any: true } : same(xShape, xd.map((v) => f32(v) / Math.sqrt(1 + f32(1e-3))));
          default:
            if (!isAct(p.act)) return bad;
            return same(xShape, xd.map((v) => ACTS[(p.act as string | null) ?? 'linear']!(f32(v))));
        }
      });
      expectedDense = null;
      viaOps = null;
    });
  });

  it('PyTorch-style modules: random constructor arguments and inputs', () => {
    const arb = fc.record({
      kind: fc.constantFrom('Linear', 'Conv2d', 'MaxPool2d', 'AvgPool2d', 'Dropout', 'BatchNorm1d', 'BatchNorm2d', 'Flatten', 'ReLU', 'Softmax', 'LogSoftmax', 'Sequential'),
      a: count(3), b: count(3), k: count(3), p: fc.oneof(fc.double({ min: 0, max: 0.9, noNaN: true }), fc.constantFrom<unknown>(1, -0.5, 'x')),
      dim: fc.oneof(fc.integer({ min: -3, max: 2 }), fc.constantFrom<unknown>(0.5, 'x')), train: fc.boolean(),
      shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    }).chain((p) => fc.tuple(fc.constant(p), dataFor([2, ...p.shape], value(3))));
    check('torchLayers', arb, ([p, xd]) => {
      const xShape = [2, ...p.shape];
      let lin: { w: Float32Array | Int32Array; b: Float32Array | Int32Array | null } | null = null;
      outcome(`nn.${p.kind} ${show(p)}`, () => {
        const nn = tb.nn as unknown as Record<string, new (...a: unknown[]) => tb.nn.Module>;
        const m = p.kind === 'Sequential' ? new tb.nn.Sequential(new tb.nn.Flatten(), new tb.nn.Linear(p.a as number, 2), new tb.nn.ReLU())
          : p.kind === 'Linear' ? new tb.nn.Linear(p.a as number, p.b as number)
          : p.kind === 'Conv2d' ? new tb.nn.Conv2d(p.a as number, p.b as number, p.k as number)
          : p.kind === 'Dropout' ? new tb.nn.Dropout(p.p as number)
          : p.kind === 'Softmax' || p.kind === 'LogSoftmax' ? new nn[p.kind]!(p.dim)
          : p.kind.startsWith('BatchNorm') ? new nn[p.kind]!(p.a)
          : p.kind.endsWith('Pool2d') ? new nn[p.kind]!(p.k) : new nn[p.kind]!();
        own(m);
        if (p.train) m.train();
        else m.eval();
        const x = tb.tensor(Float32Array.from(xd), xShape);
        if (p.kind === 'Linear') lin = { w: (m as tb.nn.Linear).weight.dataSync(), b: (m as tb.nn.Linear).bias!.dataSync() };
        return m.forward(x);
      }, () => {
        const bad = { throws: true } as const;
        const last = xShape[xShape.length - 1]!;
        switch (p.kind) {
          case 'Linear': {
            if (!isCount(p.a) || !isCount(p.b) || last !== p.a) return bad;
            const rows = sizeOf(xShape) / last;
            const { data, tols } = affine(xd.map(f32), rows, p.a, lin!.w, p.b, lin!.b, true);
            return { shape: [...xShape.slice(0, -1), p.b], data, tols, atol: 1e-5, rtol: 1e-5 };
          }
          case 'Flatten': return { shape: [2, sizeOf(p.shape)], data: xd.map(f32), atol: 0, rtol: 0 };
          case 'ReLU': return { shape: xShape, data: xd.map((v) => ACTS.relu!(f32(v))), atol: 0, rtol: 0 };
          case 'Dropout': return typeof p.p === 'number' && p.p >= 0 && p.p < 1 ? (p.train ? { any: true } : { shape: xShape, data: xd.map(f32), atol: 0, rtol: 0 }) : bad;
          case 'Softmax': case 'LogSoftmax': {
            const r = xShape.length;
            return typeof p.dim === 'number' && Number.isInteger(p.dim) && p.dim >= -r && p.dim < r ? { any: true } : bad;
          }
          default: return { any: true };
        }
      });
    });
  });

  it('losses: functional and Keras, matching and mismatched shapes, dtypes and reductions', () => {
    const arb = fc.record({
      kind: fc.constantFrom('mseLoss', 'l1Loss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'nllLoss', 'crossEntropy',
        'meanSquaredError', 'meanAbsoluteError', 'binaryCrossentropy', 'categoricalCrossentropy', 'sparseCategoricalCrossentropy'),
      n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 4 }), mismatch: fc.integer({ min: 0, max: 6 }),
      reduction: fc.oneof(fc.constantFrom<unknown>('mean', 'sum', 'none', undefined), fc.constantFrom<unknown>('avg', 3)),
      probs: fc.boolean(),
    }).chain((p) => fc.tuple(fc.constant(p), dataFor([p.n * p.c], p.probs ? fc.double({ min: 0, max: 1, noNaN: true }).map(f32) : value(4)),
      dataFor([p.n * p.c], fc.double({ min: 0, max: 1, noNaN: true }).map(f32)), fc.array(fc.integer({ min: 0, max: p.c - 1 }), { minLength: p.n, maxLength: p.n })));
    check('losses', arb, ([p, pd, td, labels]) => {
      const shape = [p.n, p.c];
      const tShape = p.mismatch === 0 ? [p.n, p.c + 1] : shape;
      const sparse = p.kind === 'nllLoss' || p.kind === 'crossEntropy' || p.kind === 'sparseCategoricalCrossentropy';
      outcome(`${p.kind} ${show(p)}`, () => {
        const pred = tb.tensor(Float32Array.from(pd), shape);
        const tgt = sparse ? (p.mismatch === 0 ? tb.tensor(Float32Array.from(labels)) : tb.tensor(Int32Array.from(labels)))
          : tb.tensor(Float32Array.from(p.mismatch === 0 ? [...td, ...new Array(p.n).fill(0)] : td), tShape);
        const o = { reduction: p.reduction as 'mean' };
        switch (p.kind) {
          case 'mseLoss': return F.mseLoss(pred, tgt, o);
          case 'l1Loss': return F.l1Loss(pred, tgt, o);
          case 'binaryCrossEntropy': return F.binaryCrossEntropy(pred, tgt, o);
          case 'binaryCrossEntropyWithLogits': return F.binaryCrossEntropyWithLogits(pred, tgt, o);
          case 'nllLoss': return F.nllLoss(pred, tgt, o);
          case 'crossEntropy': return F.crossEntropy(pred, tgt, o);
          default: return (tb.losses as unknown as Record<string, (t: tb.Tensor, y: tb.Tensor) => tb.Tensor>)[p.kind]!(tgt, pred);
        }
      }, () => {
        const keras = !['mseLoss', 'l1Loss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'nllLoss', 'crossEntropy'].includes(p.kind);
        const redOk = keras || p.reduction === undefined || ['mean', 'sum', 'none'].includes(p.reduction as string);
        // Keras' sparse loss takes float class indices too (they are cast)
        if (p.mismatch === 0 && p.kind === 'sparseCategoricalCrossentropy') return { any: true };
        if (p.mismatch === 0 || !redOk) return { throws: true };
        const red = keras ? 'mean' : ((p.reduction as string) ?? 'mean');
        const P = pd.map(f32), T = td.map(f32);
        const elem: number[] = [];
        const clip = (v: number) => Math.min(Math.max(v, 1e-7), 1 - 1e-7);
        switch (p.kind) {
          case 'mseLoss': case 'meanSquaredError': P.forEach((v, i) => elem.push((v - T[i]!) ** 2)); break;
          case 'l1Loss': case 'meanAbsoluteError': P.forEach((v, i) => elem.push(Math.abs(v - T[i]!))); break;
          case 'binaryCrossEntropy': case 'binaryCrossentropy':
            if (!P.every((v) => v >= 0 && v <= 1)) return { any: true };
            P.forEach((v0, i) => {
              const v = p.kind === 'binaryCrossentropy' ? f32(clip(v0)) : v0;
              elem.push(-(T[i]! * Math.max(Math.log(v), -100) + (1 - T[i]!) * Math.max(Math.log(1 - v), -100)));
            });
            break;
          case 'binaryCrossEntropyWithLogits': P.forEach((x, i) => elem.push(Math.max(x, 0) - x * T[i]! + Math.log1p(Math.exp(-Math.abs(x))))); break;
          default: return { any: true };
        }
        if (!elem.every(Number.isFinite)) return { any: true };
        if (red === 'none') return { shape, data: elem, atol: 1e-4, rtol: 1e-4 };
        const s = elem.reduce((a, b) => a + b, 0);
        return { shape: [], data: [red === 'sum' ? s : s / elem.length], atol: 1e-4, rtol: 1e-4, tols: [accTol(elem)] };
      });
    });
  });

  it('optimizers: hostile hyper-parameters throw; valid SGD and Adam steps match the update rule', () => {
    const num = (lo: number, hi: number) => fc.oneof({ weight: 6, arbitrary: fc.double({ min: lo, max: hi, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(NaN, -1, Infinity, '0.1', null) });
    const arb = fc.record({
      kind: fc.constantFrom('SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'Adadelta'),
      lr: num(0, 0.5), momentum: num(0, 0.95), wd: num(0, 0.1), beta1: num(0, 0.99), beta2: num(0, 0.999),
      params: fc.oneof({ weight: 8, arbitrary: fc.constant('ok') }, { weight: 1, arbitrary: fc.constantFrom<unknown>('x', null, [1, 2], 'int-param') }),
      p0: fc.array(tame(), { minLength: 1, maxLength: 5 }),
    }).chain((r) => fc.tuple(fc.constant(r), fc.array(tame(), { minLength: r.p0.length, maxLength: r.p0.length })));
    check('optimizers', arb, ([r, g]) => {
      let after: Float32Array | Int32Array | null = null;
      outcome(`${r.kind} ${show(r)}`, () => {
        const p = tb.tensor(Float32Array.from(r.p0));
        p.requiresGrad = true;
        const params = r.params === 'ok' ? [p] : r.params === 'int-param' ? [tb.tensor(Int32Array.from([1]))] : r.params;
        const O = tb.optim as unknown as Record<string, new (p: unknown, o: unknown) => tb.optim.Optimizer>;
        const opts: Record<string, unknown> = { lr: r.lr, weightDecay: r.wd };
        if (r.kind === 'SGD' || r.kind === 'RMSprop') opts.momentum = r.momentum;
        if (r.kind.startsWith('Adam')) opts.betas = [r.beta1, r.beta2];
        const opt = new O[r.kind]!(params, opts);
        own(opt);
        p.grad = tb.tensor(Float32Array.from(g));
        opt.step();
        opt.step();
        after = p.dataSync();
        return p.clone();
      }, () => {
        const fin = (v: unknown, lo: number, hi: number, hiOpen = false) => typeof v === 'number' && Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi);
        const ok = r.params === 'ok' && fin(r.lr, 0, Infinity) && fin(r.wd, 0, Infinity) &&
          (!(r.kind === 'SGD' || r.kind === 'RMSprop') || fin(r.momentum, 0, Infinity)) &&
          (!r.kind.startsWith('Adam') || (fin(r.beta1, 0, 1, true) && fin(r.beta2, 0, 1, true)));
        if (r.params !== 'ok' && r.params !== 'int-param') return { throws: true };
        if (!ok) return r.params === 'ok' ? { throws: true } : { any: true };
        if (r.kind !== 'SGD' && r.kind !== 'Adam') return { any: true };
        const p = r.p0.map(f32), gg = g.map(f32);
        const lr = r.lr as number, wd = r.wd as number;
        if (r.kind === 'SGD') {
          const mom = r.momentum as number;
          let buf: number[] | null = null;
          for (let s = 0; s < 2; s++) {
            const d = gg.map((gi, i) => gi + wd * p[i]!);
            buf = buf ? buf.map((b, i) => mom * b + d[i]!) : d;
            const upd = mom !== 0 ? buf : d;
            for (let i = 0; i < p.length; i++) p[i] = f32(p[i]! - lr * upd[i]!);
          }
        } else {
          const b1 = r.beta1 as number, b2 = r.beta2 as number;
          const m = p.map(() => 0), v = p.map(() => 0);
          for (let t = 1; t <= 2; t++)
            for (let i = 0; i < p.length; i++) {
              const gi = gg[i]! + wd * p[i]!;
              m[i] = b1 * m[i]! + (1 - b1) * gi;
              v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
              p[i] = f32(p[i]! - (lr / (1 - b1 ** t)) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + 1e-8));
            }
        }
        void after;
        return { shape: [r.p0.length], data: p, atol: 1e-4, rtol: 1e-3 };
      });
    });
  });
});

// Filled by the layer under test (its own random weights), read by the reference.
let expectedDense: { k: ArrayLike<number>; b: ArrayLike<number> | null } | null = null;
let viaOps: { shape: number[]; data: ArrayLike<number>; atol: number; rtol: number } | null = null;

/** The same computation through the ops (fuzzed separately against references). */
function opsReference(kind: string, layer: tb.Layer, x: tb.Tensor): { shape: number[]; data: ArrayLike<number>; atol: number; rtol: number } {
  return tb.tidy(() => {
    let y: tb.Tensor;
    const l = layer as unknown as { kernel: tb.Tensor; bias: tb.Tensor | null; strides: [number, number]; padding: 'valid' | 'same'; poolSize: [number, number]; activation: string };
    if (kind === 'conv2d') {
      y = tb.conv2d(x, l.kernel, l.bias, { strides: l.strides, padding: l.padding });
      y = tb.activationByName(l.activation)(y);
    } else if (kind === 'maxPooling2d') y = tb.maxPool2d(x, { poolSize: l.poolSize, strides: l.strides, padding: l.padding });
    else if (kind === 'averagePooling2d') y = tb.avgPool2d(x, { poolSize: l.poolSize, strides: l.strides, padding: l.padding });
    else y = tb.globalAvgPool2d(x);
    return { shape: y.shape.slice(), data: y.dataSync(), atol: 0, rtol: 0 };
  });
}
