// Wrong argument types for the whole public surface: every exported function (tb.*, tb.nn.functional.*,
// tb.losses.*, tb.layers.*, tb.optim.*, tb.metrics.*, tb.data.*, tb.models.*, tb.distributed.*) and every Tensor method
// and layer/module constructor is called with random mixes of junk (null, undefined, strings, symbols,
// bigints, NaN, huge numbers, functions, typed arrays of other kinds, disposed and int32 tensors) and
// plausible values. The only acceptable failure is a TensorboltError (also for async functions'
// rejections); nothing may leak.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { check, fc, junk, materialize, own, tb } from './harness.js';

// Functions such as tb.save take a path; a random string is a valid relative path, so run in a
// scratch folder rather than write stray files into the checkout.
const startDir = process.cwd();
const scratch = mkdtempSync(join(tmpdir(), 'tb-hostile-'));
beforeAll(() => process.chdir(scratch));
afterAll(() => {
  process.chdir(startDir);
  rmSync(scratch, { recursive: true, force: true });
});

const isClass = (f: unknown) => typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));
// File I/O and downloads have their own tests (test/reliability/crash_save.test.ts, the io suite).
const SKIP = new Set(['loadModel', 'saveLayersModel', 'mnist', 'mnistSync', 'readIdx', 'writeIdx']);

function functionsOf(ns: Record<string, unknown>, prefix: string): [string, (...a: unknown[]) => unknown][] {
  return Object.entries(ns).flatMap(([k, v]) => (typeof v === 'function' && !isClass(v) && !SKIP.has(k) ? [[`${prefix}${k}`, v as (...a: unknown[]) => unknown]] : []));
}
const FUNCTIONS = [
  ...functionsOf(tb as unknown as Record<string, unknown>, 'tb.'),
  ...functionsOf(tb.nn.functional as unknown as Record<string, unknown>, 'tb.nn.functional.'),
  ...functionsOf(tb.losses as unknown as Record<string, unknown>, 'tb.losses.'),
  ...functionsOf(tb.layers as unknown as Record<string, unknown>, 'tb.layers.'),
  ...functionsOf(tb.optim as unknown as Record<string, unknown>, 'tb.optim.'),
  ...functionsOf(tb.metrics as unknown as Record<string, unknown>, 'tb.metrics.'),
  ...functionsOf(tb.data as unknown as Record<string, unknown>, 'tb.data.'),
  ...functionsOf(tb.data.transforms as unknown as Record<string, unknown>, 'tb.data.transforms.'),
  ...functionsOf(tb.models as unknown as Record<string, unknown>, 'tb.models.'),
  ...functionsOf(tb.distributed as unknown as Record<string, unknown>, 'tb.distributed.'),
];
const CLASSES: [string, new (...a: unknown[]) => unknown][] = [
  ...Object.entries(tb.nn).filter(([k, v]) => isClass(v) && k !== 'Module'),
  ...Object.entries(tb.optim).filter(([k, v]) => isClass(v) && !['Optimizer', 'LRScheduler'].includes(k)),
  ['Sequential', tb.Sequential], ['TensorDataset', tb.TensorDataset], ['DataLoader', tb.DataLoader], ['EarlyStopping', tb.EarlyStopping],
] as [string, new (...a: unknown[]) => unknown][];
const METHODS = Object.getOwnPropertyNames(tb.Tensor.prototype).filter((k) => {
  const d = Object.getOwnPropertyDescriptor(tb.Tensor.prototype, k)!;
  return k !== 'constructor' && typeof d.value === 'function';
});

/** Arguments: junk mixed with plausible values, so that calls get past the first check sometimes. */
const plausible = fc.constantFrom<unknown>('f-tensor', 'i-tensor', 's-tensor', 1, 0, -1, 2, 0.5, [1, 2], [[1, 2], [3, 4]], [2, 3], {}, { axis: 1 },
  { training: true }, { reduction: 'sum' }, 'relu', 'mean', 'same', false, 'float32', 'int32');
const arg = fc.oneof({ weight: 1, arbitrary: junk() }, { weight: 1, arbitrary: plausible }, { weight: 1, arbitrary: fc.record({ axis: junk(), training: junk(), lr: junk(), units: junk() }, { requiredKeys: [] }) });
const args = fc.array(arg, { maxLength: 4 });

/** Disposes the tensors an argument list holds, also inside option objects. */
function cleanup(a: unknown[]): void {
  for (const x of a) {
    if (x instanceof tb.Tensor) x.dispose();
    else if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) cleanup(Object.values(x));
  }
}

function resolve(a: unknown): unknown {
  if (a === 'f-tensor') return tb.tensor([[1, -2, 3], [0.5, 0, -1]]);
  if (a === 's-tensor') return tb.scalar(2);
  if (a === 'i-tensor') return tb.tensor(Int32Array.from([0, 1, 2]));
  if (a && typeof a === 'object' && !Array.isArray(a) && Object.getPrototypeOf(a) === Object.prototype)
    return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, materialize(v)]));
  return materialize(a);
}

const pending: Promise<unknown>[] = [];
const asyncFailures: string[] = [];

/** Calls fn; a throw must be a TensorboltError; a returned module/optimizer/layer is disposed. */
function expectOnlyTensorboltError(what: string, fn: () => unknown): void {
  let result: unknown;
  let promise: Promise<unknown> | null = null;
  try {
    result = tb.tidy(() => {
      const r = fn();
      if (r instanceof Promise) promise = r; // awaited after the property (tidy is synchronous)
      return r instanceof tb.Tensor || r instanceof Promise ? undefined : (r as object); // tensors die with the scope
    });
  } catch (e) {
    if (!(e instanceof tb.TensorboltError))
      throw new Error(`${what}: threw ${(e as Error)?.constructor?.name ?? typeof e} instead of TensorboltError: ${(e as Error)?.message ?? String(e)}`);
    return;
  }
  if (promise) {
    pending.push((promise as Promise<unknown>).then((v) => disposeResult(v), (e) => {
      if (!(e instanceof tb.TensorboltError)) asyncFailures.push(`${what}: rejected with ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }));
    return;
  }
  disposeResult(result);
}

function disposeResult(r: unknown): void {
  if (r instanceof tb.Tensor) r.dispose();
  else if (r && typeof r === 'object' && typeof (r as { dispose?: unknown }).dispose === 'function' && !(r instanceof tb.Tensor)) own(r as { dispose(): void });
  else if (Array.isArray(r)) for (const x of r) if (x instanceof tb.Tensor) x.dispose();
}

function label(a: unknown[]): string {
  return a.map((x) => (typeof x === 'symbol' ? 'Symbol' : typeof x === 'bigint' ? `${x}n` : typeof x === 'function' ? 'fn' : x instanceof tb.Tensor ? `Tensor${x.isDisposed ? '(disposed)' : ''}` : (() => { try { return JSON.stringify(x) ?? String(x); } catch { return typeof x; } })())).join(', ');
}

describe('fuzz: hostile arguments to the whole public API', () => {
  const threads = tb.backendInfo().threads;
  const gemm = tb.backendInfo().gemm;
  const isa = tb.backendInfo().isa;
  const precision = tb.getMatmulPrecision();
  afterAll(() => {
    tb.setDebug(false);
    tb.setNumThreads(threads);
    tb.setGemmBackend(gemm);
    tb.setIsa(isa);
    tb.setMatmulPrecision(precision);
  });

  it('covers a meaningful surface', () => {
    if (FUNCTIONS.length < 100 || METHODS.length < 50 || CLASSES.length < 20)
      throw new Error(`only ${FUNCTIONS.length} functions, ${METHODS.length} methods, ${CLASSES.length} classes found`);
  });

  it('every exported function throws only TensorboltError', async () => {
    check('hostileOps', fc.tuple(fc.constantFrom(...FUNCTIONS), args), ([[name, fn], raw]) => {
      const a = raw.map(resolve);
      try {
        expectOnlyTensorboltError(`${name}(${label(a)})`, () => fn(...a));
      } finally {
        cleanup(a);
        tb.setDebug(false);
      }
    });
    await Promise.allSettled(pending.splice(0));
    if (asyncFailures.length) throw new Error(asyncFailures.join('\n'));
  });

  it('every Tensor method throws only TensorboltError, on live, disposed and int32 tensors', async () => {
    check('hostileMethods', fc.tuple(fc.constantFrom(...METHODS), fc.constantFrom('f-tensor', 'i-tensor', 's-tensor', 'disposed-tensor'), args), ([m, self, raw]) => {
      const t = resolve(self) as tb.Tensor;
      const a = raw.map(resolve);
      try {
        expectOnlyTensorboltError(`Tensor.${m}(${label(a)})`, () => (t as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a));
      } finally {
        t.dispose();
        cleanup(a);
      }
    });
    await Promise.allSettled(pending.splice(0));
    if (asyncFailures.length) throw new Error(asyncFailures.join('\n'));
  });

  it('every layer, module, optimizer and data class constructor throws only TensorboltError', () => {
    check('hostileLayers', fc.tuple(fc.constantFrom(...CLASSES), args), ([[name, C], raw]) => {
      const a = raw.map(resolve);
      try {
        expectOnlyTensorboltError(`new ${name}(${label(a)})`, () => {
          const o = new C(...a);
          // then use it once, with junk too
          const x = tb.tensor([[1, 2, 3, 4]]);
          const obj = o as { forward?: (x: unknown) => unknown; step?: () => void; dispose?: () => void };
          if (obj.dispose) own(obj as { dispose(): void });
          if (typeof obj.forward === 'function') obj.forward(a[0] instanceof tb.Tensor ? a[0] : x);
          if (typeof obj.step === 'function') obj.step();
          return undefined;
        });
      } finally {
        cleanup(a);
      }
    });
  });
});
