// The TensorFlow.js layers format: model.json (Keras topology as tfjs writes it, weightsManifest,
// optionally trainingConfig) and a weights file (little-endian values concatenated in manifest order).
// A save commits the pair with one rename: the weights go to a file named for that save alone
// (weights-<random>.bin), written first, and model.json, written last, names it. A reader sees the
// old pair or the new one, never one file of each, however saves interleave (two processes saving to
// one folder, or a crash between the files); the weights file of the replaced model.json is removed.
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { TensorboltError, fmtText, fmtValue } from '../tensor/errors.js';
import { assign, hostValues } from '../tensor/tensor.js';
import type { DeviceName } from '../tensor/device.js';
import { version } from '../version.js';
import {
  Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
  Layer, MaxPooling2D, Reshape, type ActivationName,
} from '../nn/keras_layers.js';
import { Sequential } from '../train/sequential.js';
import { writeFileAtomic } from './atomic.js';
import { RECURRENT_CLASSES, recurrentLayerFromJson, withoutCellScope } from './recurrent_json.js';
import { closeFile, isMissing, openRegular, readAt, readRegularFile, type RegularFile } from './read_file.js';
import { applyTrainingConfig, optimizerWeights, trainingConfigOf, type TrainingConfig } from './training_config.js';
import { isWriterRank } from '../distributed/world.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** 'optimizer' marks optimizer state (tfjs's includeOptimizer). */
  group?: string;
  quantization?: unknown;
}

export interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

export interface ModelJson {
  modelTopology: { class_name: string; config: { name: string; layers: LayerJson[] }; keras_version?: string; backend?: string };
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  trainingConfig?: TrainingConfig;
}

/** One named array of the weights file. */
export interface NamedWeight {
  spec: WeightSpec;
  data: Float32Array | Int32Array;
}

export interface SaveOptions {
  /** Also save the optimizer's state and the compile arguments, to resume training (default false). */
  includeOptimizer?: boolean;
}

export interface LoadOptions {
  /**
   * Compile the model from the file's trainingConfig and restore the optimizer state saved with it
   * (default true, as Keras's load_model(compile=True)); false ignores both.
   */
  includeOptimizer?: boolean;
  /** The device the model is put on (default: the default device); model.to(device) later moves it too. */
  device?: DeviceName;
}

export function dirFromUrl(op: string, url: string): string {
  if (typeof url !== 'string') throw new TensorboltError(op, `expected a 'file://' path, got ${typeof url}`);
  const p = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (/^[a-z]+:\/\//i.test(p)) throw new TensorboltError(op, `only file:// URLs are supported, got '${url}'`);
  return resolve(p);
}

/** The topology and weights of a built Sequential model as model.json + one weights buffer. */
export function toArtifacts(model: Sequential, opts: SaveOptions = {}): { json: ModelJson; weights: Uint8Array } {
  if (model.layers.length && !model.layers.every((l) => l.built) && model.layers[0]!.inputShape) model.build();
  if (!model.layers.length || !model.layers.every((l) => l.built))
    throw new TensorboltError('save', 'the model must be built (fit, predict, or a first layer with inputShape) before saving');
  const entries: NamedWeight[] = [];
  for (const l of model.layers)
    for (const [name, t] of l.weightsWithNames()) entries.push({ spec: { name, shape: t.shape.slice(), dtype: 'float32' }, data: hostValues(t, 'save') as Float32Array });
  let trainingConfig: TrainingConfig | undefined;
  if (opts.includeOptimizer) {
    trainingConfig = trainingConfigOf(model);
    entries.push(...optimizerWeights(model));
  }
  const total = entries.reduce((s, e) => s + e.data.byteLength, 0);
  const weights = new Uint8Array(total);
  let off = 0;
  for (const { data } of entries) {
    weights.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), off);
    off += data.byteLength;
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
    weightsManifest: [{ paths: ['weights.bin'], weights: entries.map((e) => e.spec) }],
  };
  if (trainingConfig) json.trainingConfig = trainingConfig;
  return { json, weights };
}

/** Names of weights files we write; only these are ever removed, and only from the model's folder. */
const OUR_WEIGHTS = /^weights(-[0-9a-f]{16})?\.bin$/;
/** model.json holds the topology and the manifest, never the weights: far below this for any model. */
export const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

export async function saveLayersModel(model: Sequential, url: string, opts: SaveOptions = {}): Promise<{ modelJsonPath: string; weightsPath: string; weightBytes: number }> {
  const dir = dirFromUrl('save', url);
  const { json, weights } = toArtifacts(model, opts);
  const modelJsonPath = join(dir, 'model.json');
  // data-parallel ranks hold the same model: rank 0 alone writes it
  if (!isWriterRank()) return { modelJsonPath, weightsPath: join(dir, weightsNamedBy(modelJsonPath)[0] ?? 'weights.bin'), weightBytes: weights.byteLength };
  const replaced = weightsNamedBy(modelJsonPath);
  const name = `weights-${randomBytes(8).toString('hex')}.bin`;
  const weightsPath = join(dir, name);
  json.weightsManifest[0]!.paths = [name];
  writeFileAtomic(weightsPath, weights);
  try {
    writeFileAtomic(modelJsonPath, JSON.stringify(json));
  } catch (e) {
    removeQuietly(weightsPath);
    throw e;
  }
  // Safe even while other processes save here: a model.json committed after ours names a fresh file,
  // never one named by a model.json committed before ours, nor one of our earlier saves. Two saves that
  // replaced the same model.json leave the loser's file; its writer removes it on its next save.
  for (const old of [...replaced, ...(ourLast.get(dir) ?? [])]) if (old !== name) removeQuietly(join(dir, old));
  ourLast.set(dir, [name]);
  return { modelJsonPath, weightsPath, weightBytes: weights.byteLength };
}

/** The weights file of this thread's last save to each folder. */
const ourLast = new Map<string, string[]>();

/** Our weights files that the model.json at path names (none when it is absent or unreadable). */
function weightsNamedBy(modelJsonPath: string): string[] {
  let json: ModelJson;
  try {
    json = JSON.parse(Buffer.from(readRegularFile('save', modelJsonPath, MAX_MODEL_JSON_BYTES, 'model.json')).toString('utf8')) as ModelJson;
  } catch {
    return []; // a damaged old model.json is replaced, not a reason to fail the save
  }
  const groups = Array.isArray(json?.weightsManifest) ? json.weightsManifest : [];
  return groups.flatMap((g) => (Array.isArray(g?.paths) ? g.paths : [])).filter((p): p is string => typeof p === 'string' && OUR_WEIGHTS.test(p));
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone (another save removed it), or not ours to remove
  }
}

const snakeToCamelAct: Record<string, ActivationName> = { leaky_relu: 'leakyRelu', log_softmax: 'logSoftmax' };
function act(v: unknown): ActivationName {
  const s = typeof v === 'string' ? v : v === null || v === undefined ? 'linear' : fmtValue(v);
  return snakeToCamelAct[s] ?? (s as ActivationName);
}
function sampleShape(c: Record<string, unknown>): number[] | undefined {
  const b = c.batch_input_shape as (number | null)[] | undefined;
  return b ? (b.slice(1) as number[]) : undefined;
}
function padding(v: unknown): 'valid' | 'same' {
  return v === 'same' ? 'same' : 'valid';
}

const SUPPORTED = ['Dense', 'Conv2D', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Reshape', 'Dropout',
  'BatchNormalization', 'Activation', ...RECURRENT_CLASSES].join(', ');

/** Makes a layer from its Keras JSON (class_name + config); errors name the file and the layer. */
export function layerFromJson(file: string, spec: LayerJson): Layer {
  const op = 'loadModel';
  if (!spec || typeof spec !== 'object' || typeof spec.class_name !== 'string')
    throw new TensorboltError(op, `${file}: a layer entry has no class_name: ${fmtValue(spec)}`);
  const c = (spec.config ?? {}) as Record<string, unknown>;
  if (typeof c !== 'object' || Array.isArray(c)) throw new TensorboltError(op, `${file}: layer ${spec.class_name} has config ${fmtValue(c)}; expected an object`);
  const where = `${file}: layer '${fmtText(c.name)}' (${spec.class_name})`;
  // Layer configs hold numbers, strings, short lists and small nested objects (initializers); a
  // value nested deeper is damage, refused here before a constructor formats it into a message.
  for (const [k, v] of Object.entries(c))
    if (nestedDeeperThan(v, 6)) throw new TensorboltError(op, `${where}: config.${k} is nested more than 6 levels deep: ${fmtValue(v)}`);
  if (c.name !== undefined && c.name !== null && typeof c.name !== 'string') throw new TensorboltError(op, `${where}: name must be a string`);
  if (c.data_format && c.data_format !== 'channels_last')
    throw new TensorboltError(op, `${where} uses data_format '${fmtText(c.data_format)}'; only channels_last is supported`);
  const dil = c.dilation_rate as number[] | number | undefined;
  if (dil !== undefined && (Array.isArray(dil) ? dil : [dil]).some((d) => d !== 1))
    throw new TensorboltError(op, `${where} uses dilation_rate ${fmtValue(dil)}; only 1 is supported`);
  const base = { name: c.name as string | undefined, inputShape: sampleShape(c) };
  try {
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
      default: {
        const r = recurrentLayerFromJson(spec.class_name, c, base);
        if (r) return r;
      }
    }
  } catch (e) {
    if (e instanceof TensorboltError) throw new TensorboltError(op, `${where}: ${e.message}`);
    throw e;
  }
  throw new TensorboltError(op, `${file}: unknown layer class '${spec.class_name}' (layer '${fmtText(c.name)}'); supported: ${SUPPORTED}`);
}

/** Whether v holds arrays or objects more than `limit` levels deep (walked without recursion). */
function nestedDeeperThan(v: unknown, limit: number): boolean {
  let level: unknown[] = [v];
  for (let depth = 0; level.length; depth++) {
    if (depth > limit) return true;
    const next: unknown[] = [];
    for (const x of level) if (x && typeof x === 'object') for (const y of Object.values(x)) if (y && typeof y === 'object') next.push(y);
    level = next;
  }
  return false;
}

const BYTES = new Map<unknown, number>([['float32', 4], ['int32', 4]]);

/** The weights: the manifest's files one after the other (a weight may span two), or one buffer. */
export interface WeightBytes {
  readonly size: number;
  /** Fills `into` from byte `position`. */
  read(position: number, into: Uint8Array): void;
}

function bufferBytes(b: Uint8Array): WeightBytes {
  return { size: b.byteLength, read: (pos, into) => into.set(b.subarray(pos, pos + into.byteLength)) };
}

function fileBytes(op: string, files: RegularFile[]): WeightBytes {
  const size = files.reduce((s, f) => s + f.size, 0);
  return {
    size,
    read(pos, into) {
      let start = 0;
      let done = 0;
      for (const f of files) {
        const end = start + f.size;
        if (done < into.byteLength && pos + done < end) {
          const n = Math.min(end - (pos + done), into.byteLength - done);
          readAt(op, f, into.subarray(done, done + n), pos + done - start);
          done += n;
        }
        start = end;
      }
    },
  };
}

/** Checks the manifest against the bytes' size, then reads one typed array per entry. */
export function readManifest(file: string, json: ModelJson, weights: Uint8Array | WeightBytes): NamedWeight[] {
  const op = 'loadModel';
  const src = weights instanceof Uint8Array ? bufferBytes(weights) : weights;
  const groups = json.weightsManifest ?? [];
  if (!Array.isArray(groups)) throw new TensorboltError(op, `${file}: weightsManifest must be an array`);
  const specs: [WeightSpec, number, number][] = [];
  let offset = 0;
  for (const g of groups) {
    if (!g || !Array.isArray(g.weights)) throw new TensorboltError(op, `${file}: a weightsManifest group has no weights array`);
    for (const w of g.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw new TensorboltError(op, `${file}: malformed weight entry ${fmtValue(w)}`);
      if (w.quantization) throw new TensorboltError(op, `${file}: weight '${w.name}' is quantized; only unquantized float32 weights are supported`);
      const bytes = BYTES.get(w.dtype);
      if (!bytes) throw new TensorboltError(op, `${file}: weight '${w.name}' has dtype ${fmtText(w.dtype)}; only float32 (and int32 optimizer counters) are supported`);
      const len = w.shape.reduce((a, b) => a * b, 1) * bytes;
      specs.push([w, offset, len]);
      offset += len;
    }
  }
  if (offset !== src.size)
    throw new TensorboltError(op, `${file}: the manifest describes ${offset} bytes of weights but the weights file${groups.length === 1 && groups[0]!.paths?.length === 1 ? ` ${groups[0]!.paths[0]}` : 's'} hold${groups.length === 1 && groups[0]!.paths?.length === 1 ? 's' : ''} ${src.size} bytes (${offset > src.size ? 'truncated' : 'trailing data'}: weights and manifest do not match)`);
  return specs.map(([spec, off, len]) => {
    const data = spec.dtype === 'int32' ? new Int32Array(len / 4) : new Float32Array(len / 4);
    src.read(off, new Uint8Array(data.buffer));
    return { spec, data };
  });
}

/** Builds a model from model.json content and a weights buffer (for files and in-memory artifacts). */
export function fromArtifacts(json: ModelJson, weights: Uint8Array | WeightBytes, file = 'model.json', opts: LoadOptions = {}): Sequential {
  const op = 'loadModel';
  const topo = json?.modelTopology;
  if (!topo || typeof topo !== 'object') throw new TensorboltError(op, `${file}: no modelTopology`);
  const cls = topo.class_name;
  const cfg = topo.config as unknown;
  if (cls !== 'Sequential') throw new TensorboltError(op, `${file}: only Sequential models are supported, got '${fmtText(cls)}'`);
  const layerSpecs = Array.isArray(cfg) ? cfg : cfg && typeof cfg === 'object' ? (cfg as { layers?: unknown[] }).layers : undefined;
  if (!Array.isArray(layerSpecs))
    throw new TensorboltError(op, `${file}: modelTopology.config must be an object with a layers array (or the array of layers), got ${cfg && typeof cfg === 'object' ? `layers ${fmtValue((cfg as { layers?: unknown }).layers)}` : fmtValue(cfg)}`);
  const specs = layerSpecs.filter((l) => (l as LayerJson)?.class_name !== 'InputLayer') as LayerJson[];
  const inputLayer = layerSpecs.find((l) => (l as LayerJson)?.class_name === 'InputLayer') as LayerJson | undefined;
  const layers = specs.map((s, i) => {
    if (i === 0 && inputLayer && !s.config?.batch_input_shape) s = { ...s, config: { ...s.config, batch_input_shape: inputLayer.config.batch_input_shape } };
    return layerFromJson(file, s);
  });
  const name = (cfg as { name?: unknown }).name;
  const model = new Sequential({ layers, name: typeof name === 'string' ? name : undefined });
  if (!layers[0]?.inputShape) throw new TensorboltError(op, `${file}: the first layer has no batch_input_shape`);
  try {
    model.build();
  } catch (e) {
    if (e instanceof TensorboltError) throw new TensorboltError(op, `${file}: the layers do not fit together: ${e.message}`);
    throw e;
  }
  const all = readManifest(file, json, weights);
  const modelWeights = all.filter((w) => w.spec.group !== 'optimizer');
  // Keras-converted files name recurrent weights with the cell's scope ('lstm/lstm_cell/kernel').
  const byName = new Map(modelWeights.map((w) => [withoutCellScope(w.spec.name), w]));
  if (byName.size !== modelWeights.length) throw new TensorboltError(op, `${file}: the manifest lists a weight name twice`);
  const ours = model.layers.flatMap((l) => l.weightsWithNames());
  const missing = ours.filter(([n]) => !byName.has(n)).map(([n]) => n);
  const unexpected = modelWeights.filter((w) => !ours.some(([n]) => n === withoutCellScope(w.spec.name))).map((w) => w.spec.name);
  if (missing.length || unexpected.length)
    throw new TensorboltError(op, `${file}: the manifest does not match the layers: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
  for (const [name, t] of ours) {
    const w = byName.get(name)!;
    if (w.spec.shape.join(',') !== t.shape.join(','))
      throw new TensorboltError(op, `${file}: weight '${name}' has shape [${w.spec.shape.join(',')}] in the manifest but the layer needs [${t.shape.join(',')}]`);
    if (w.spec.dtype !== 'float32') throw new TensorboltError(op, `${file}: weight '${name}' has dtype ${w.spec.dtype}; layer weights are float32`);
    assign(t, w.data, op); // onto the layer's device
  }
  if (opts.includeOptimizer !== false && json.trainingConfig)
    applyTrainingConfig(file, model, json.trainingConfig, all.filter((w) => w.spec.group === 'optimizer'));
  return model;
}

/** tb.loadModel('file://DIR/model.json') */
export async function loadLayersModel(url: string, opts: LoadOptions = {}): Promise<Sequential> {
  const op = 'loadModel';
  let path = dirFromUrl(op, url);
  if (!path.endsWith('.json')) path = join(path, 'model.json');
  let text = readModelJson(path);
  // A save in another process may replace model.json, and remove the weights file the old one named,
  // between our two reads: the missing file is then a sign to read model.json again (a few times).
  for (let attempt = 1; ; attempt++) {
    const json = parseModelJson(path, text);
    const files: RegularFile[] = [];
    let reread = false;
    try {
      for (const wp of weightsPaths(path, json)) {
        try {
          files.push(openRegular(op, wp, 'weights file'));
        } catch (e) {
          if (!isMissing(e)) throw e;
          const now = readModelJson(path);
          if (now === text || attempt >= 5) throw new TensorboltError(op, `${path}: weights file ${wp} is missing`);
          text = now;
          reread = true;
          break;
        }
      }
      if (!reread) {
        const model = fromArtifacts(json, fileBytes(op, files), path, opts);
        if (opts.device !== undefined) model.to(opts.device);
        return model;
      }
    } finally {
      for (const f of files) closeFile(f);
    }
  }
}

function readModelJson(path: string): string {
  const bytes = readRegularFile('loadModel', path, MAX_MODEL_JSON_BYTES, 'model.json', 'model.json holds the topology and the manifest, not the weights');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function parseModelJson(path: string, text: string): ModelJson {
  let json: ModelJson;
  try {
    json = JSON.parse(text) as ModelJson;
  } catch (e) {
    throw new TensorboltError('loadModel', `${path}: not valid JSON (${(e as Error).message}); the file is truncated or corrupted`);
  }
  if (!json || typeof json !== 'object') throw new TensorboltError('loadModel', `${path}: expected a JSON object with modelTopology and weightsManifest`);
  return json;
}

/** The weights files the manifest names, each inside the model's folder. */
function weightsPaths(path: string, json: ModelJson): string[] {
  const groups = Array.isArray(json.weightsManifest) ? json.weightsManifest : [];
  return groups.flatMap((g) => (Array.isArray(g?.paths) ? g.paths : [])).map((p) => {
    if (typeof p !== 'string' || isAbsolute(p) || normalize(p).split(sep)[0] === '..')
      throw new TensorboltError('loadModel', `${path}: weights path ${fmtValue(p)} must be relative to the model's folder`);
    return join(dirname(path), p);
  });
}
