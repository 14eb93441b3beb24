// Training checkpoints: a module's state dict, its optimizer's state and the epoch, in one
// safetensors file written atomically, so a run killed at any moment resumes from the last
// checkpoint. Works for any nn.Module (a Keras-style Sequential included) and any optimizer.
//   model.<key>                    every parameter and buffer of module.stateDict()
//   optimizer.<index>.<buffer>     the optimizer's per-parameter buffers (expAvg, momentumBuffer, ...)
//   __metadata__                   format, epoch, the optimizer's class, hyper-parameters, steps, extra
import { resolve } from 'node:path';
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { Tensor, assign } from '../tensor/tensor.js';
import { noGrad } from '../tensor/autograd.js';
import { Module } from '../nn/module.js';
import { Optimizer, type OptimizerStateDict } from '../optim/optimizer.js';
import { Sequential } from '../train/sequential.js';
import { loadSafetensors, writeSafetensors, type TensorDict } from './safetensors.js';
import { DistributedDataParallel } from '../distributed/ddp.js';
import { isWriterRank } from '../distributed/world.js';

const FORMAT = 'tensorbolt-checkpoint';

export interface CheckpointArgs {
  model: Module;
  /** Defaults to a compiled Sequential's own optimizer. */
  optimizer?: Optimizer | null;
  /** Epochs completed (fit's initialEpoch when resuming). */
  epoch?: number;
  /** Anything else to keep (JSON-serialisable): a scheduler's state, the best validation loss, ... */
  extra?: Record<string, unknown>;
}

export interface Checkpoint {
  epoch: number;
  extra: Record<string, unknown>;
}

/**
 * The model's state dict under the names the file uses. A Sequential's layers are keyed by position
 * (layers.0.kernel), not by their names: Keras-style names are unique per process (dense, dense_1,
 * ...), so the same architecture built twice has different names, yet must load the same checkpoint.
 */
function fileKeyed(model: Module): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  // a DDP wrapper's checkpoint is its module's, so it resumes with or without DDP, on any number of ranks
  if (model instanceof DistributedDataParallel) model = model.module;
  if (model instanceof Sequential) {
    model.layers.forEach((l, i) => {
      for (const [k, t] of Object.entries(l.stateDict())) out.set(`layers.${i}.${k}`, t);
    });
  } else {
    for (const [k, t] of Object.entries(model.stateDict())) out.set(k, t);
  }
  return out;
}

function optimizerOf(args: { model: Module; optimizer?: Optimizer | null }): Optimizer | null {
  if (args.optimizer !== undefined) return args.optimizer;
  if (args.model instanceof Sequential && args.model.optimizer) {
    // a compiled model's optimizer learns the weights on first fit; make sure it has them
    if (args.model.layers.every((l) => l.built)) return args.model.ensureOptimizer();
    return args.model.optimizer;
  }
  return null;
}

/** tb.saveCheckpoint('run/ckpt.safetensors', { model, optimizer, epoch }) */
export function saveCheckpoint(path: string, args: CheckpointArgs): void {
  const op = 'saveCheckpoint';
  if (!args || !(args.model instanceof Module)) throw new TensorboltError(op, 'expects { model, optimizer?, epoch?, extra? } with model an nn.Module');
  const epoch = args.epoch ?? 0;
  if (!Number.isInteger(epoch) || epoch < 0) throw new TensorboltError(op, `epoch must be a non-negative integer, got ${String(args.epoch)}`);
  const tensors: TensorDict = {};
  for (const [k, t] of fileKeyed(args.model)) tensors[`model.${k}`] = t;
  const metadata: Record<string, string> = { format: FORMAT, version: '1', epoch: String(epoch) };
  const opt = optimizerOf(args);
  if (opt !== null) {
    if (!(opt instanceof Optimizer)) throw new TensorboltError(op, 'optimizer must be a tb.optim optimizer');
    const sd = opt.stateDict();
    const steps: Record<string, number> = {};
    for (const [idx, entry] of Object.entries(sd.state)) {
      const { step, ...bufs } = entry;
      steps[idx] = step;
      for (const [name, t] of Object.entries(bufs)) {
        if (!(t instanceof Tensor)) throw new TensorboltError(op, `optimizer state ${idx}.${name} is not a tensor`);
        tensors[`optimizer.${idx}.${name}`] = t;
      }
    }
    metadata.optimizer = JSON.stringify({ name: opt.name, paramGroups: sd.paramGroups, steps });
  }
  if (args.extra !== undefined) {
    if (!args.extra || typeof args.extra !== 'object' || Array.isArray(args.extra))
      throw new TensorboltError(op, `extra must be an object (e.g. { scheduler: sched.stateDict() }), got ${fmtValue(args.extra)}`);
    try {
      metadata.extra = JSON.stringify(args.extra);
    } catch (e) {
      throw new TensorboltError(op, `extra must be JSON-serialisable: ${(e as Error).message}`);
    }
  }
  // data-parallel ranks hold the same state: rank 0 alone writes it
  if (isWriterRank()) writeSafetensors(path, tensors, metadata, op);
}

/**
 * Restores a checkpoint into a module built like the saved one (and its optimizer, built over the
 * same parameters); returns the epoch and extra. A compiled Sequential's optimizer is used when no
 * optimizer is passed. Nothing is changed when the file does not fit.
 */
export function loadCheckpoint(path: string, args: { model: Module; optimizer?: Optimizer | null }): Checkpoint {
  const op = 'loadCheckpoint';
  if (!args || !(args.model instanceof Module)) throw new TensorboltError(op, 'expects { model, optimizer? } with model an nn.Module');
  const { tensors, metadata } = loadSafetensors(path, op);
  try {
    return restore(resolve(path), tensors, metadata, args);
  } finally {
    // every value was copied into the model and optimizer (or nothing was changed)
    for (const t of Object.values(tensors)) t.dispose();
  }
}

function restore(file: string, tensors: TensorDict, metadata: Record<string, string>, args: { model: Module; optimizer?: Optimizer | null }): Checkpoint {
  const op = 'loadCheckpoint';
  const bad = (what: string) => new TensorboltError(op, `${file}: ${what}`);
  // Everything is checked (the metadata, the model's keys, shapes and dtypes, the optimizer's whole
  // state, extra) before anything changes; then the weights and the optimizer state are copied in.
  if (metadata.format !== FORMAT) throw bad(`not a tensorbolt checkpoint (metadata format is ${JSON.stringify(metadata.format)}); for plain state dicts use tb.load`);
  const epoch = Number(metadata.epoch);
  if (!Number.isInteger(epoch) || epoch < 0) throw bad(`corrupted: epoch ${JSON.stringify(metadata.epoch)}`);
  const extra = metadata.extra === undefined ? {} : parseObject(metadata.extra, (why) => bad(`corrupted extra metadata: ${why}`));
  const modelSd = new Map<string, Tensor>();
  const optTensors = new Map<string, Tensor>();
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) modelSd.set(k.slice('model.'.length), t);
    else if (k.startsWith('optimizer.')) optTensors.set(k.slice('optimizer.'.length), t);
    else throw bad(`unexpected tensor '${k}' (checkpoint tensors start with model. or optimizer.)`);
  }
  const own = fileKeyed(args.model);
  const missing = [...own.keys()].filter((k) => !modelSd.has(k));
  const unexpected = [...modelSd.keys()].filter((k) => !own.has(k));
  if (missing.length || unexpected.length)
    throw bad(`the checkpoint does not fit the model: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
  for (const [k, t] of own) {
    const saved = modelSd.get(k)!;
    if (t.shape.join(',') !== saved.shape.join(','))
      throw bad(`'${k}' is [${saved.shape.join(',')}] in the checkpoint but [${t.shape.join(',')}] in the model`);
    if (t.dtype !== saved.dtype) throw bad(`'${k}' is ${saved.dtype} in the checkpoint but ${t.dtype} in the model`);
  }
  const opt = optimizerOf(args);
  let applyOptimizer: (() => void) | null = null;
  if (metadata.optimizer !== undefined) {
    const meta = parseObject(metadata.optimizer, (why) => bad(`corrupted optimizer metadata: ${why}`));
    const { name, paramGroups, steps } = meta as { name?: unknown; paramGroups?: unknown; steps?: unknown };
    if (typeof name !== 'string' || !Array.isArray(paramGroups) || !steps || typeof steps !== 'object' || Array.isArray(steps))
      throw bad('corrupted optimizer metadata: expected { name, paramGroups, steps }');
    if (opt === null) throw bad(`holds ${name} optimizer state; pass the optimizer to restore it into ({ model, optimizer })`);
    if (!(opt instanceof Optimizer)) throw new TensorboltError(op, 'optimizer must be a tb.optim optimizer');
    if (name !== opt.name) throw bad(`holds ${name} optimizer state, but the optimizer given is ${opt.name}`);
    const state = new Map<number, { step: number } & Record<string, Tensor | number>>();
    for (const [idx, step] of Object.entries(steps as Record<string, number>)) state.set(Number(idx), { step });
    for (const [key, t] of optTensors) {
      const dot = key.indexOf('.');
      const entry = dot > 0 ? state.get(Number(key.slice(0, dot))) : undefined;
      if (!entry) throw bad(`optimizer tensor '${key}' belongs to no parameter with a step count`);
      Object.defineProperty(entry, key.slice(dot + 1), { value: t, enumerable: true, writable: true, configurable: true });
    }
    try {
      // the optimizer checks every buffer (present, finite, second moments >= 0) before applying any
      applyOptimizer = opt.checkStateDict({ state: Object.fromEntries(state), paramGroups: paramGroups as OptimizerStateDict['paramGroups'] });
    } catch (e) {
      if (e instanceof TensorboltError) throw bad(e.message);
      throw e;
    }
  } else if (optTensors.size) {
    throw bad('corrupted: optimizer tensors without optimizer metadata');
  }
  noGrad(() => {
    for (const [k, t] of own) assign(t, modelSd.get(k)!, op); // onto the model's device
  });
  applyOptimizer?.();
  return { epoch, extra };
}

/** A JSON object from metadata text; anything else is corruption (`fail` says where). */
function parseObject(text: string, fail: (why: string) => Error): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw fail(`expected a JSON object, got ${text.length > 40 ? `${text.slice(0, 40)}...` : text}`);
  return v as Record<string, unknown>;
}
