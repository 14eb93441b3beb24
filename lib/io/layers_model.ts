// The TensorFlow.js layers format: model.json (Keras topology as tfjs writes it + weightsManifest)
// and weights.bin (float32 little-endian, concatenated in manifest order). Files are written
// atomically: weights.bin first, then model.json, so a crash never pairs a new manifest with old
// weights of another size.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TensorboltError } from '../tensor/errors.js';

import { version } from '../version.js';
import {
  Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
  Layer, MaxPooling2D, Reshape, type ActivationName,
} from '../nn/keras_layers.js';
import { Sequential } from '../train/sequential.js';
import { writeFileAtomic } from './atomic.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface ModelJson {
  modelTopology: { class_name: string; config: { name: string; layers: { class_name: string; config: Record<string, unknown> }[] }; keras_version?: string; backend?: string };
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export function dirFromUrl(op: string, url: string): string {
  if (typeof url !== 'string') throw new TensorboltError(op, `expected a 'file://' path, got ${typeof url}`);
  const p = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (/^[a-z]+:\/\//i.test(p)) throw new TensorboltError(op, `only file:// URLs are supported, got '${url}'`);
  return resolve(p);
}

/** The topology and weights of a built Sequential model as model.json + one weights buffer. */
export function toArtifacts(model: Sequential): { json: ModelJson; weights: Uint8Array } {
  if (!model.layers.length || !model.layers.every((l) => l.built))
    throw new TensorboltError('save', 'the model must be built (fit, predict, or a first layer with inputShape) before saving');
  const specs: WeightSpec[] = [];
  const parts: Float32Array[] = [];
  for (const l of model.layers)
    for (const [name, t] of l.weightsWithNames()) {
      specs.push({ name, shape: t.shape.slice(), dtype: 'float32' });
      parts.push(t.buf('save') as Float32Array);
    }
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const weights = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    weights.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
    off += p.byteLength;
  }
  const layersJson = model.layers.map((l, i) => {
    const config = l.getConfig();
    if (i === 0 && !config.batch_input_shape) config.batch_input_shape = [null, ...l.builtInputShape!];
    return { class_name: l.className, config };
  });
  const json: ModelJson = {
    modelTopology: { class_name: 'Sequential', config: { name: model.name, layers: layersJson }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    format: 'layers-model',
    generatedBy: `tensorbolt ${version}`,
    convertedBy: null,
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  return { json, weights };
}

export async function saveLayersModel(model: Sequential, url: string): Promise<{ modelJsonPath: string; weightsPath: string; weightBytes: number }> {
  const dir = dirFromUrl('save', url);
  const { json, weights } = toArtifacts(model);
  const weightsPath = join(dir, 'weights.bin');
  const modelJsonPath = join(dir, 'model.json');
  writeFileAtomic(weightsPath, weights);
  writeFileAtomic(modelJsonPath, JSON.stringify(json));
  return { modelJsonPath, weightsPath, weightBytes: weights.byteLength };
}

const snakeToCamelAct: Record<string, ActivationName> = { leaky_relu: 'leakyRelu', log_softmax: 'logSoftmax' };
function act(v: unknown): ActivationName {
  const s = typeof v === 'string' ? v : 'linear';
  return snakeToCamelAct[s] ?? (s as ActivationName);
}
function sampleShape(c: Record<string, unknown>): number[] | undefined {
  const b = c.batch_input_shape as (number | null)[] | undefined;
  return b ? (b.slice(1) as number[]) : undefined;
}
function padding(v: unknown): 'valid' | 'same' {
  return v === 'same' ? 'same' : 'valid';
}

/** Makes a layer from its Keras JSON (class_name + config). */
export function layerFromJson(file: string, spec: { class_name: string; config: Record<string, unknown> }): Layer {
  const c = spec.config ?? {};
  const base = { name: c.name as string | undefined, inputShape: sampleShape(c) };
  if (c.data_format && c.data_format !== 'channels_last')
    throw new TensorboltError('loadModel', `${file}: layer '${String(c.name)}' uses data_format '${String(c.data_format)}'; only channels_last is supported`);
  switch (spec.class_name) {
    case 'Dense':
      return new Dense({ ...base, units: c.units as number, activation: act(c.activation), useBias: c.use_bias !== false });
    case 'Conv2D':
      return new Conv2D({ ...base, filters: c.filters as number, kernelSize: c.kernel_size as [number, number], strides: (c.strides as [number, number]) ?? 1,
        padding: padding(c.padding), activation: act(c.activation), useBias: c.use_bias !== false });
    case 'MaxPooling2D':
    case 'MaxPool2D':
      return new MaxPooling2D({ ...base, poolSize: c.pool_size as [number, number], strides: (c.strides as [number, number]) ?? undefined, padding: padding(c.padding) });
    case 'AveragePooling2D':
    case 'AvgPool2D':
      return new AveragePooling2D({ ...base, poolSize: c.pool_size as [number, number], strides: (c.strides as [number, number]) ?? undefined, padding: padding(c.padding) });
    case 'GlobalAveragePooling2D':
      return new GlobalAveragePooling2D(base);
    case 'Flatten':
      return new Flatten(base);
    case 'Reshape':
      return new Reshape({ ...base, targetShape: c.target_shape as number[] });
    case 'Dropout':
      return new Dropout({ ...base, rate: c.rate as number, seed: (c.seed as number | null) ?? undefined });
    case 'BatchNormalization': {
      const axis = Array.isArray(c.axis) ? (c.axis as number[])[0]! : (c.axis as number | undefined);
      return new BatchNormalization({ ...base, axis: axis ?? -1, momentum: c.momentum as number | undefined, epsilon: c.epsilon as number | undefined,
        center: c.center !== false, scale: c.scale !== false });
    }
    case 'Activation':
      return new Activation({ ...base, activation: act(c.activation) });
    default:
      throw new TensorboltError('loadModel', `${file}: unknown layer class '${spec.class_name}' (supported: Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Reshape, Dropout, BatchNormalization, Activation)`);
  }
}

/** Builds a model from model.json content and a weights buffer (for files and in-memory artifacts). */
export function fromArtifacts(json: ModelJson, weights: Uint8Array, file = 'model.json'): Sequential {
  const op = 'loadModel';
  const topo = json?.modelTopology;
  if (!topo || typeof topo !== 'object') throw new TensorboltError(op, `${file}: no modelTopology`);
  const cls = topo.class_name;
  const cfg = topo.config as unknown;
  const layerSpecs = cls === 'Sequential' ? (Array.isArray(cfg) ? cfg : (cfg as { layers?: unknown[] })?.layers) : null;
  if (!Array.isArray(layerSpecs)) throw new TensorboltError(op, `${file}: only Sequential models are supported, got '${String(cls)}'`);
  const specs = layerSpecs.filter((l) => (l as { class_name: string }).class_name !== 'InputLayer') as { class_name: string; config: Record<string, unknown> }[];
  const inputLayer = layerSpecs.find((l) => (l as { class_name: string }).class_name === 'InputLayer') as { config: Record<string, unknown> } | undefined;
  const layers = specs.map((s, i) => {
    if (i === 0 && inputLayer && !s.config.batch_input_shape) s = { ...s, config: { ...s.config, batch_input_shape: inputLayer.config.batch_input_shape } };
    return layerFromJson(file, s);
  });
  const model = new Sequential({ layers, name: (cfg as { name?: string }).name });
  if (!layers[0]?.inputShape) throw new TensorboltError(op, `${file}: the first layer has no batch_input_shape`);
  model.build();
  const manifest = (json.weightsManifest ?? []).flatMap((g) => g.weights);
  const byName = new Map<string, { spec: WeightSpec; offset: number }>();
  let offset = 0;
  for (const w of manifest) {
    if (w.dtype !== 'float32') throw new TensorboltError(op, `${file}: weight '${w.name}' has dtype ${w.dtype}; only float32 is supported`);
    byName.set(w.name, { spec: w, offset });
    offset += w.shape.reduce((a, b) => a * b, 1) * 4;
  }
  if (offset !== weights.byteLength)
    throw new TensorboltError(op, `${file}: the manifest describes ${offset} bytes of weights but the weights hold ${weights.byteLength} bytes (truncated or mismatched weights.bin)`);
  const ours = model.layers.flatMap((l) => l.weightsWithNames());
  if (ours.length !== manifest.length)
    throw new TensorboltError(op, `${file}: the model has ${ours.length} weights but the manifest lists ${manifest.length}`);
  ours.forEach(([name, t], i) => {
    // tfjs may suffix names (dense_Dense1/kernel); match by name, then by position
    const entry = byName.get(name) ?? byName.get(manifest[i]!.name)!;
    const shape = entry.spec.shape;
    if (shape.join(',') !== t.shape.join(','))
      throw new TensorboltError(op, `${file}: weight '${entry.spec.name}' has shape [${shape.join(',')}] but layer weight '${name}' needs [${t.shape.join(',')}]`);
    const src = new Float32Array(weights.buffer.slice(weights.byteOffset + entry.offset, weights.byteOffset + entry.offset + t.size * 4));
    (t.buf(op) as Float32Array).set(src);
  });
  return model;
}

/** tb.loadModel('file://DIR/model.json') */
export async function loadLayersModel(url: string): Promise<Sequential> {
  const op = 'loadModel';
  let path = dirFromUrl(op, url);
  if (!path.endsWith('.json')) path = join(path, 'model.json');
  if (!existsSync(path)) throw new TensorboltError(op, `${path}: no such file`);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (e) {
    throw new TensorboltError(op, `${path}: not valid JSON (${(e as Error).message})`);
  }
  const paths = (json.weightsManifest ?? []).flatMap((g) => g.paths);
  const bufs = paths.map((p) => {
    const wp = join(dirname(path), p);
    if (!existsSync(wp)) throw new TensorboltError(op, `${path}: weights file ${wp} is missing`);
    return readFileSync(wp);
  });
  const all = Buffer.concat(bufs);
  return fromArtifacts(json, new Uint8Array(all.buffer, all.byteOffset, all.byteLength), path);
}

