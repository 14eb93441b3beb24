// Argument helpers shared by the examples: `--epochs N` and `--limit N` (train on the first N images,
// which the test suite uses to smoke-test each example quickly), and the text the character-level
// examples learn from: this package's own README (it ships with the package).
import { readFileSync } from 'node:fs';
import * as tb from '../lib/index.js';
export function argInt(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
}

export interface Corpus {
  text: string;
  chars: string[];
  /** Each character of text as its index in chars. */
  ids: Int32Array;
}

export function corpus(limit: number): Corpus {
  // From dist/examples/ (where the examples run), the package root is two folders up.
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').slice(0, limit);
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  return { text, chars, ids: Int32Array.from(text, (c) => index.get(c)!) };
}

/** An index drawn from probabilities p sharpened (temperature < 1) or flattened (> 1). */
export function sampleIndex(p: ArrayLike<number>, temperature: number, rng: tb.Random): number {
  const w = Array.from(p, (v) => Math.exp(Math.log(Math.max(v, 1e-12)) / temperature));
  let u = rng.uniform() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) if ((u -= w[i]!) <= 0) return i;
  return w.length - 1;
}
