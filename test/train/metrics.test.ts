import { describe, expect, it } from 'vitest';
import { tensor } from '../../lib/tensor/creation.js';
import { TensorboltError } from '../../lib/tensor/errors.js';
import {
  accuracy, classificationReport, confusionMatrix, formatConfusionMatrix, precisionRecallF1,
} from '../../lib/train/metrics.js';

function expectErr(fn: () => unknown, op: string, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TensorboltError);
  expect((err as TensorboltError).op).toBe(op);
  expect((err as Error).message).toMatch(re);
}

// Worked by hand:
//   true  0 0 1 1 2 2 2
//   pred  0 1 1 1 2 0 2
//   cm = [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
//   class 0: P = 1/2, R = 1/2, F1 = 1/2;  class 1: P = 2/3, R = 1, F1 = 0.8;  class 2: P = 1, R = 2/3, F1 = 0.8
const yTrue = [0, 0, 1, 1, 2, 2, 2];
const yPred = [0, 1, 1, 1, 2, 0, 2];
const cm = [[1, 1, 0], [0, 2, 0], [1, 0, 2]];

/** Scores with the argmax at yPred (and a distractor elsewhere). */
const probs = yPred.map((c) => [0, 1, 2].map((j) => (j === c ? 0.6 : j === (c + 1) % 3 ? 0.3 : 0.1)));

describe('accuracy', () => {
  it('from labels, one-hot rows, probabilities and tensors', () => {
    expect(accuracy(yTrue, yPred)).toBeCloseTo(5 / 7, 12);
    const oneHot = yTrue.map((c) => [0, 1, 2].map((j) => (j === c ? 1 : 0)));
    expect(accuracy(oneHot, probs)).toBeCloseTo(5 / 7, 12);
    expect(accuracy(Int32Array.from(yTrue), tensor(probs))).toBeCloseTo(5 / 7, 12);
    expect(accuracy(tensor(Int32Array.from(yTrue), [7, 1], 'int32'), tensor(oneHot))).toBe(1);
  });

  it('binary probabilities (N, 1) are thresholded at 0.5', () => {
    expect(accuracy([1, 0, 1, 0], [[0.9], [0.2], [0.4], [0.5]])).toBe(0.5);
  });

  it('takes the first maximum on ties (like argmax)', () => {
    expect(accuracy([0, 1], [[0.5, 0.5], [0.5, 0.5]])).toBe(0.5);
  });

  it('rejects mismatched lengths, empty input, NaN scores and non-integer labels', () => {
    expectErr(() => accuracy([0, 1], [0]), 'accuracy', /yTrue has 2 samples but yPred has 1/);
    expectErr(() => accuracy([], []), 'accuracy', /no samples/);
    expectErr(() => accuracy([0], [[NaN, 1]]), 'accuracy', /yPred\[0\]\[0\] is NaN/);
    expectErr(() => accuracy([0.3, 1], [0, 1]), 'accuracy', /yTrue\[0\] = 0.3 is not a class index/);
    expectErr(() => accuracy([0], [[[1]]] as never), 'accuracy', /yPred\[0\]\[0\] is an array/);
    expectErr(() => accuracy(tensor(new Float32Array(8), [2, 2, 2]), [0, 1]), 'accuracy', /shape \[2,2,2\]/);
  });
});

describe('confusionMatrix', () => {
  it('matches the hand-computed matrix (rows true, columns predicted)', () => {
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual(cm);
    expect(confusionMatrix(yTrue, probs)).toEqual(cm);
    expect(confusionMatrix(yTrue, yPred, 4)).toEqual([[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]);
  });

  it('infers numClasses from both yTrue and yPred', () => {
    expect(confusionMatrix([0, 0], [0, 2])).toEqual([[1, 0, 1], [0, 0, 0], [0, 0, 0]]);
  });

  it('names the sample and value out of range', () => {
    expectErr(() => confusionMatrix([0, 5], [0, 1], 3), 'confusionMatrix', /yTrue\[1\] = 5 is outside \[0, 3\)/);
    expectErr(() => confusionMatrix([0, 1], [0, 3], 3), 'confusionMatrix', /yPred\[1\] = class 3 is outside/);
    expectErr(() => confusionMatrix([0], [0], 0), 'confusionMatrix', /numClasses must be a positive integer/);
  });
});

describe('precisionRecallF1', () => {
  it('per class, macro and weighted, against hand-computed values', () => {
    const s = precisionRecallF1(cm);
    const expected = [
      { precision: 1 / 2, recall: 1 / 2, f1: 1 / 2, support: 2 },
      { precision: 2 / 3, recall: 1, f1: 0.8, support: 2 },
      { precision: 1, recall: 2 / 3, f1: 0.8, support: 3 },
    ];
    s.perClass.forEach((c, i) => {
      expect(c.precision).toBeCloseTo(expected[i]!.precision, 12);
      expect(c.recall).toBeCloseTo(expected[i]!.recall, 12);
      expect(c.f1).toBeCloseTo(expected[i]!.f1, 12);
      expect(c.support).toBe(expected[i]!.support);
    });
    expect(s.macro.precision).toBeCloseTo((1 / 2 + 2 / 3 + 1) / 3, 12);
    expect(s.macro.recall).toBeCloseTo((1 / 2 + 1 + 2 / 3) / 3, 12);
    expect(s.macro.f1).toBeCloseTo(0.7, 12);
    expect(s.macro.support).toBe(7);
    expect(s.weighted.precision).toBeCloseTo((2 * 0.5 + 2 * (2 / 3) + 3 * 1) / 7, 12);
    expect(s.weighted.recall).toBeCloseTo(5 / 7, 12);
    expect(s.weighted.f1).toBeCloseTo((2 * 0.5 + 2 * 0.8 + 3 * 0.8) / 7, 12);
    expect(s.accuracy).toBeCloseTo(5 / 7, 12);
    expect(s.total).toBe(7);
  });

  it('undefined ratios are 0 (zero_division=0)', () => {
    // class 1 never predicted and never true; class 2 predicted but never true
    const s = precisionRecallF1([[2, 0, 1], [0, 0, 0], [0, 0, 0]]);
    expect(s.perClass[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(s.perClass[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(s.perClass[0]!.precision).toBe(1);
    expect(s.perClass[0]!.recall).toBeCloseTo(2 / 3, 12);
    const none = precisionRecallF1([[0, 0], [0, 0]]);
    expect(none.accuracy).toBe(0);
    expect(none.macro).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
  });

  it('rejects non-square or non-count matrices', () => {
    expectErr(() => precisionRecallF1([[1, 2], [3]]), 'precisionRecallF1', /square: row 1 has 1 entries for 2 rows/);
    expectErr(() => precisionRecallF1([[1, -2], [3, 4]]), 'precisionRecallF1', /cm\[0\]\[1\] = -2/);
    expectErr(() => precisionRecallF1([]), 'precisionRecallF1', /non-empty/);
  });
});

describe('text reports', () => {
  it('classificationReport lays out the sklearn table', () => {
    const text = classificationReport(yTrue, yPred, { targetNames: ['cat', 'dog', 'bird'], digits: 2 });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]!.trim().split(/\s+/)).toEqual(['precision', 'recall', 'f1-score', 'support']);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['cat', '0.50', '0.50', '0.50', '2']);
    expect(lines[3]!.trim().split(/\s+/)).toEqual(['dog', '0.67', '1.00', '0.80', '2']);
    expect(lines[4]!.trim().split(/\s+/)).toEqual(['bird', '1.00', '0.67', '0.80', '3']);
    expect(lines[6]!.trim().split(/\s+/)).toEqual(['accuracy', '0.71', '7']);
    expect(lines[7]!.trim().split(/\s+/)).toEqual(['macro', 'avg', '0.72', '0.72', '0.70', '7']);
    expect(lines[8]!.trim().split(/\s+/)).toEqual(['weighted', 'avg', '0.76', '0.71', '0.71', '7']);
    // columns line up: every data line has the same length
    expect(new Set([0, 2, 3, 4, 7, 8].map((i) => lines[i]!.length)).size).toBe(1);
    expectErr(() => classificationReport(yTrue, yPred, { targetNames: ['a'] }), 'classificationReport', /1 names for 3 classes/);
  });

  it('formatConfusionMatrix right-aligns counts under class labels', () => {
    const text = formatConfusionMatrix([[120, 3], [7, 0]]);
    expect(text).toBe(['true\\pred   0   1', '        0 120   3', '        1   7   0', ''].join('\n'));
    const named = formatConfusionMatrix(cm, { labels: ['cat', 'dog', 'bird'] });
    expect(named.split('\n')[0]).toBe('true\\pred  cat  dog bird');
    expect(named.split('\n')[3]).toBe('     bird    1    0    2');
  });
});
