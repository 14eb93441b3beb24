// Classification metrics over plain arrays (or tensors, read once): accuracy, the confusion
// matrix, per-class precision/recall/F1 with sklearn's conventions (rows are true classes, columns
// predicted; an undefined ratio is 0, as with zero_division=0), and text reports.
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, hostValues } from '../tensor/tensor.js';

/**
 * Labels or scores: integer labels (N) or (N, 1); one-hot rows or probabilities (N, C) (argmax is
 * taken); as a Tensor, a typed array, a number[] or a number[][].
 */
export type LabelsLike = Tensor | ArrayLike<number> | readonly (readonly number[])[];

interface Flat {
  values: ArrayLike<number>;
  shape: number[];
}

function flat(op: string, v: LabelsLike, name: string): Flat {
  if (v instanceof Tensor) return { values: hostValues(v, op), shape: v.shape.slice() };
  if (Array.isArray(v) && v.length > 0 && Array.isArray(v[0])) {
    const rows = v as readonly (readonly number[])[];
    const c = rows[0]!.length;
    const out = new Float64Array(rows.length * c);
    rows.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== c)
        throw new TensorboltError(op, `${name} is ragged: row ${i} has ${Array.isArray(r) ? r.length : 'no'} entries, row 0 has ${c}`);
      r.forEach((x, j) => {
        if (typeof x !== 'number') throw new TensorboltError(op, `${name}[${i}][${j}] is ${Array.isArray(x) ? 'an array' : typeof x}, expected a number (scores must be (N, C))`);
        out[i * c + j] = x;
      });
    });
    return { values: out, shape: [rows.length, c] };
  }
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return { values: v as ArrayLike<number>, shape: [(v as ArrayLike<number>).length] };
  throw new TensorboltError(op, `${name} must be a Tensor, a typed array or an array of numbers, got ${v === null ? 'null' : typeof v}`);
}

/**
 * Class indices from labels or scores. (N) and (N, 1) `true` labels must be integers; (N, C>1)
 * rows give their argmax; a (N, 1) prediction is a binary probability, thresholded at 0.5.
 */
function classes(op: string, v: LabelsLike, name: string, isPrediction: boolean): Int32Array {
  const { values, shape } = flat(op, v, name);
  if (shape.length === 2 && shape[1]! > 1) {
    const [n, c] = shape as [number, number];
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bv = -Infinity;
      for (let j = 0; j < c; j++) {
        const x = values[i * c + j]!;
        if (x !== x) throw new TensorboltError(op, `${name}[${i}][${j}] is NaN`);
        if (x > bv) {
          bv = x;
          best = j;
        }
      }
      out[i] = best;
    }
    return out;
  }
  if (shape.length === 2 && shape[1] === 1 && isPrediction) {
    const out = new Int32Array(shape[0]!);
    for (let i = 0; i < out.length; i++) {
      const x = values[i]!;
      if (x !== x) throw new TensorboltError(op, `${name}[${i}] is NaN`);
      out[i] = x >= 0.5 ? 1 : 0;
    }
    return out;
  }
  if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) {
    const out = new Int32Array(shape[0]!);
    for (let i = 0; i < out.length; i++) {
      const x = values[i]!;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0)
        throw new TensorboltError(op, `${name}[${i}] = ${x} is not a class index (a non-negative integer); pass probabilities as (N, C)`);
      out[i] = x;
    }
    return out;
  }
  throw new TensorboltError(op, `${name} must be labels (N), (N, 1) or scores (N, C); got shape ${fmtShape(shape)}`);
}

function pair(op: string, yTrue: LabelsLike, yPred: LabelsLike): [Int32Array, Int32Array] {
  const t = classes(op, yTrue, 'yTrue', false);
  const p = classes(op, yPred, 'yPred', true);
  if (t.length !== p.length) throw new TensorboltError(op, `yTrue has ${t.length} samples but yPred has ${p.length}`);
  return [t, p];
}

/** The fraction of samples whose predicted class equals the true class. */
export function accuracy(yTrue: LabelsLike, yPred: LabelsLike): number {
  const op = 'accuracy';
  const [t, p] = pair(op, yTrue, yPred);
  if (t.length === 0) throw new TensorboltError(op, 'no samples: accuracy of an empty set is undefined');
  let hits = 0;
  for (let i = 0; i < t.length; i++) if (t[i] === p[i]) hits++;
  return hits / t.length;
}

/**
 * cm[i][j] = number of samples of true class i predicted as class j. numClasses defaults to the
 * largest class seen + 1.
 */
export function confusionMatrix(yTrue: LabelsLike, yPred: LabelsLike, numClasses?: number): number[][] {
  const op = 'confusionMatrix';
  const [t, p] = pair(op, yTrue, yPred);
  let k = numClasses;
  if (k === undefined) {
    k = 0;
    for (let i = 0; i < t.length; i++) k = Math.max(k, t[i]! + 1, p[i]! + 1);
    if (k === 0) throw new TensorboltError(op, 'no samples to infer numClasses from; pass numClasses');
  }
  if (!Number.isInteger(k) || k <= 0) throw new TensorboltError(op, `numClasses must be a positive integer, got ${fmtValue(k)}`);
  const cm: number[][] = Array.from({ length: k }, () => new Array<number>(k!).fill(0));
  for (let i = 0; i < t.length; i++) {
    if (t[i]! >= k) throw new TensorboltError(op, `yTrue[${i}] = ${t[i]} is outside [0, ${k})`);
    if (p[i]! >= k) throw new TensorboltError(op, `yPred[${i}] = class ${p[i]} is outside [0, ${k})`);
    cm[t[i]!]![p[i]!]!++;
  }
  return cm;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Number of true samples of the class (for averages: of all classes). */
  support: number;
}

export interface PrecisionRecallF1 {
  perClass: ClassScores[];
  /** Unweighted mean over classes. */
  macro: ClassScores;
  /** Mean over classes weighted by support. */
  weighted: ClassScores;
  accuracy: number;
  total: number;
}

function checkConfusion(op: string, cm: readonly (readonly number[])[]): number {
  if (!Array.isArray(cm) || cm.length === 0) throw new TensorboltError(op, 'the confusion matrix must be a non-empty number[][]');
  const k = cm.length;
  cm.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== k)
      throw new TensorboltError(op, `the confusion matrix must be square: row ${i} has ${Array.isArray(row) ? row.length : 'no'} entries for ${k} rows`);
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new TensorboltError(op, `cm[${i}][${j}] = ${v} is not a non-negative count`);
    });
  });
  return k;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Per-class precision, recall, F1 and support from a confusion matrix (rows true, columns predicted). */
export function precisionRecallF1(cm: readonly (readonly number[])[]): PrecisionRecallF1 {
  const k = checkConfusion('precisionRecallF1', cm);
  const perClass: ClassScores[] = [];
  let total = 0;
  let correct = 0;
  for (let c = 0; c < k; c++) {
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += cm[c]![j]!;
      predicted += cm[j]![c]!;
    }
    const tp = cm[c]![c]!;
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    perClass.push({ precision, recall, f1: ratio(2 * precision * recall, precision + recall), support });
    total += support;
    correct += tp;
  }
  const avg = (w: (s: ClassScores) => number, wsum: number): ClassScores => {
    const m = { precision: 0, recall: 0, f1: 0, support: total };
    for (const s of perClass) {
      m.precision += w(s) * s.precision;
      m.recall += w(s) * s.recall;
      m.f1 += w(s) * s.f1;
    }
    m.precision = ratio(m.precision, wsum);
    m.recall = ratio(m.recall, wsum);
    m.f1 = ratio(m.f1, wsum);
    return m;
  };
  return {
    perClass,
    macro: avg(() => 1, k),
    weighted: avg((s) => s.support, total),
    accuracy: ratio(correct, total),
    total,
  };
}

export interface ReportOptions {
  numClasses?: number;
  /** Row names, one per class (default: the class index). */
  targetNames?: readonly string[];
  /** Decimals shown (default 4). */
  digits?: number;
}

function names(op: string, k: number, targetNames?: readonly string[]): string[] {
  if (targetNames === undefined) return Array.from({ length: k }, (_, i) => String(i));
  if (!Array.isArray(targetNames) || targetNames.length !== k)
    throw new TensorboltError(op, `targetNames has ${targetNames?.length} names for ${k} classes`);
  return targetNames.map(String);
}

/** A text table like sklearn's classification_report: per class, accuracy, macro and weighted averages. */
export function classificationReport(yTrue: LabelsLike, yPred: LabelsLike, opts: ReportOptions = {}): string {
  const op = 'classificationReport';
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${fmtValue(opts)}`);
  const cm = confusionMatrix(yTrue, yPred, opts.numClasses);
  const s = precisionRecallF1(cm);
  const rows = names(op, cm.length, opts.targetNames);
  const digits = opts.digits ?? 4;
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) throw new TensorboltError(op, `digits must be an integer in [0, 10], got ${fmtValue(digits)}`);
  const w = Math.max('weighted avg'.length, ...rows.map((r) => r.length));
  const col = Math.max(9, digits + 2);
  const f = (x: number) => x.toFixed(digits).padStart(col);
  const line = (name: string, c: ClassScores) =>
    `${name.padStart(w)} ${f(c.precision)} ${f(c.recall)} ${f(c.f1)} ${String(c.support).padStart(col)}`;
  const out = [`${''.padStart(w)} ${'precision'.padStart(col)} ${'recall'.padStart(col)} ${'f1-score'.padStart(col)} ${'support'.padStart(col)}`, ''];
  s.perClass.forEach((c, i) => out.push(line(rows[i]!, c)));
  out.push('');
  out.push(`${'accuracy'.padStart(w)} ${''.padStart(col)} ${''.padStart(col)} ${f(s.accuracy)} ${String(s.total).padStart(col)}`);
  out.push(line('macro avg', s.macro));
  out.push(line('weighted avg', s.weighted));
  return out.join('\n') + '\n';
}

/** The confusion matrix as a text table, true classes down, predicted classes across. */
export function formatConfusionMatrix(cm: readonly (readonly number[])[], opts: { labels?: readonly string[] } = {}): string {
  const op = 'formatConfusionMatrix';
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${fmtValue(opts)}`);
  const k = checkConfusion(op, cm);
  const labels = names(op, k, opts.labels);
  const corner = 'true\\pred';
  const rowW = Math.max(corner.length, ...labels.map((l) => l.length));
  const colW = Math.max(...labels.map((l) => l.length), ...cm.flat().map((v) => String(v).length));
  const out = [`${corner.padStart(rowW)} ${labels.map((l) => l.padStart(colW)).join(' ')}`];
  cm.forEach((row, i) => out.push(`${labels[i]!.padStart(rowW)} ${row.map((v) => String(v).padStart(colW)).join(' ')}`));
  return out.join('\n') + '\n';
}
