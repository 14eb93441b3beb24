// The compile arguments and optimizer state in the TensorFlow.js layers format (includeOptimizer):
// model.json's trainingConfig { loss, metrics, optimizer_config: { class_name, config } } and the
// optimizer's arrays appended to the manifest with group 'optimizer', in TensorFlow.js's order and
// names, so either library resumes the other's training:
//   Adam      iter, <w>/m for every trainable weight w, then <w>/v for every w
//   SGD       iter                                  (tfjs 'SGD': no momentum)
//   Momentum  iter, <w>/momentum for every w        (tfjs 'Momentum': SGD with momentum, optional Nesterov)
// The arrays are matched to the weights by position (trainable weights in layer order: kernel, bias,
// gamma, beta), as TensorFlow.js does, since its variable names may carry suffixes.
// Only optimizers whose update is the same in both libraries are written; others (AdamW, AMSGrad,
// weight decay, RMSprop, Adagrad, Adadelta) throw and point to tb.saveCheckpoint, which keeps any
// optimizer's full state.
import { TensorboltError, fmtText, fmtValue } from '../tensor/errors.js';
import { isParameter } from '../nn/module.js';
import { Adam, AdamW } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import { optimizerFromName, type KerasOptimizerOptions } from '../optim/keras.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import { hostValues, type Tensor } from '../tensor/tensor.js';
import type { Sequential } from '../train/sequential.js';
import type { NamedWeight } from './layers_model.js';

export interface TrainingConfig {
  loss: string | string[] | Record<string, string>;
  metrics?: string[] | null;
  optimizer_config: { class_name: string; config: Record<string, unknown> };
  [key: string]: unknown;
}

const SNAKE_LOSS: Record<string, string> = {
  categoricalCrossentropy: 'categorical_crossentropy', sparseCategoricalCrossentropy: 'sparse_categorical_crossentropy',
  binaryCrossentropy: 'binary_crossentropy', meanSquaredError: 'mean_squared_error', meanAbsoluteError: 'mean_absolute_error',
};

/** Trainable weights in Keras order (the order of tfjs's optimizer arrays). */
function trainableWeights(model: Sequential): [string, Tensor][] {
  return model.layers.flatMap((l) => l.weightsWithNames()).filter(([, t]) => isParameter(t));
}

interface Layout {
  className: 'Adam' | 'SGD' | 'Momentum';
  config: Record<string, unknown>;
  /** Our buffer name -> the suffix tfjs gives it, in tfjs's order. */
  buffers: [string, string][];
}

function layoutOf(opt: Optimizer): Layout {
  const op = 'save';
  const g = opt.paramGroups[0] as unknown as Record<string, unknown> | undefined;
  const h = (g ?? opt.defaults) as Record<string, unknown>;
  const unsupported = (why: string) =>
    new TensorboltError(op, `includeOptimizer: ${why} has no TensorFlow.js layers-format equivalent; save with tb.saveCheckpoint(path, { model, optimizer }) to keep its state`);
  if (opt.paramGroups.length > 1) {
    const keys = Object.keys(h).filter((k) => k !== 'params');
    if (opt.paramGroups.some((pg) => keys.some((k) => JSON.stringify((pg as unknown as Record<string, unknown>)[k]) !== JSON.stringify(h[k]))))
      throw unsupported('parameter groups with different hyper-parameters');
  }
  if (opt instanceof AdamW) throw unsupported('AdamW');
  if (opt instanceof Adam) {
    if (h.amsgrad) throw unsupported('Adam with amsgrad');
    if (h.weightDecay) throw unsupported('Adam with weightDecay');
    const [beta1, beta2] = h.betas as [number, number];
    return { className: 'Adam', config: { learningRate: h.lr, beta1, beta2, epsilon: h.eps }, buffers: [['expAvg', 'm'], ['expAvgSq', 'v']] };
  }
  if (opt instanceof SGD) {
    if (h.weightDecay) throw unsupported('SGD with weightDecay');
    if (h.dampening) throw unsupported('SGD with dampening');
    if (!h.momentum) return { className: 'SGD', config: { learningRate: h.lr }, buffers: [] };
    return { className: 'Momentum', config: { learningRate: h.lr, momentum: h.momentum, useNesterov: h.nesterov }, buffers: [['momentumBuffer', 'momentum']] };
  }
  throw unsupported(opt.name);
}

/** trainingConfig for model.json (the model must be compiled with a named loss). */
export function trainingConfigOf(model: Sequential): TrainingConfig {
  if (!model.optimizer || !model.lossName)
    throw new TensorboltError('save', 'includeOptimizer needs a model compiled with a named loss and an optimizer');
  const { className, config } = layoutOf(model.optimizer);
  return {
    loss: SNAKE_LOSS[model.lossName] ?? model.lossName,
    metrics: model.metricLabels.slice(),
    optimizer_config: { class_name: className, config },
  };
}

/** The optimizer's arrays as manifest entries (group 'optimizer'). */
export function optimizerWeights(model: Sequential): NamedWeight[] {
  const opt = model.optimizer!;
  const { buffers } = layoutOf(opt);
  const weights = trainableWeights(model);
  const states = weights.map(([, p]) => opt.getState(p));
  const stepped = states.filter((s) => s !== undefined);
  const iter = stepped.length ? Math.max(...stepped.map((s) => s!.step)) : 0;
  const out: NamedWeight[] = [{ spec: { name: 'iter', shape: [], dtype: 'int32', group: 'optimizer' }, data: Int32Array.of(iter) }];
  if (stepped.length === 0) return out; // nothing trained yet: tfjs writes only iter too
  if (stepped.length !== weights.length || stepped.some((s) => s!.step !== iter))
    throw new TensorboltError('save', 'includeOptimizer: some weights were updated a different number of times (frozen layers or a custom loop); save with tb.saveCheckpoint instead');
  for (const [ours, suffix] of buffers)
    weights.forEach(([name, p], i) => {
      const t = states[i]!.buffers[ours];
      const data = t ? (hostValues(t, 'save') as Float32Array) : new Float32Array(p.size);
      out.push({ spec: { name: `${name}/${suffix}`, shape: p.shape.slice(), dtype: 'float32', group: 'optimizer' }, data });
    });
  return out;
}

function num(file: string, cfg: Record<string, unknown>, camel: string, snake: string): number | undefined {
  const v = cfg[camel] ?? cfg[snake];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TensorboltError('loadModel', `${file}: optimizer_config.${camel} must be a number, got ${fmtValue(v)}`);
  return v;
}

/** An optimizer (with Keras defaults) from a tfjs or Keras optimizer_config. */
function optimizerFromConfig(file: string, oc: TrainingConfig['optimizer_config']): { opt: Optimizer; layout: string } {
  const cfg = (oc?.config ?? {}) as Record<string, unknown>;
  const cls = typeof oc?.class_name === 'string' ? oc.class_name.replace(/^Custom>/, '') : '';
  const lr = num(file, cfg, 'learningRate', 'learning_rate');
  const o: KerasOptimizerOptions = {};
  if (lr !== undefined) o.learningRate = lr;
  const set = <K extends keyof KerasOptimizerOptions>(k: K, v: KerasOptimizerOptions[K] | undefined) => { if (v !== undefined) o[k] = v; };
  switch (cls) {
    case 'Adam':
      set('beta1', num(file, cfg, 'beta1', 'beta_1'));
      set('beta2', num(file, cfg, 'beta2', 'beta_2'));
      set('epsilon', num(file, cfg, 'epsilon', 'epsilon'));
      return { opt: optimizerFromName('adam', o), layout: 'Adam' };
    case 'SGD': {
      const momentum = num(file, cfg, 'momentum', 'momentum');
      set('momentum', momentum);
      if (typeof cfg.nesterov === 'boolean') o.nesterov = cfg.nesterov;
      return { opt: optimizerFromName('sgd', o), layout: momentum ? 'Momentum' : 'SGD' };
    }
    case 'Momentum':
      set('momentum', num(file, cfg, 'momentum', 'momentum'));
      if (typeof cfg.useNesterov === 'boolean') o.nesterov = cfg.useNesterov;
      return { opt: optimizerFromName('sgd', o), layout: 'Momentum' };
    case 'RMSProp':
    case 'RMSprop':
      set('rho', num(file, cfg, 'decay', 'rho'));
      set('momentum', num(file, cfg, 'momentum', 'momentum'));
      set('epsilon', num(file, cfg, 'epsilon', 'epsilon'));
      if (typeof cfg.centered === 'boolean') o.centered = cfg.centered;
      return { opt: optimizerFromName('rmsprop', o), layout: cls };
    case 'Adagrad':
      set('initialAccumulatorValue', num(file, cfg, 'initialAccumulatorValue', 'initial_accumulator_value'));
      return { opt: optimizerFromName('adagrad', o), layout: cls };
    case 'Adadelta':
      set('rho', num(file, cfg, 'rho', 'rho'));
      set('epsilon', num(file, cfg, 'epsilon', 'epsilon'));
      return { opt: optimizerFromName('adadelta', o), layout: cls };
    default:
      throw new TensorboltError('loadModel', `${file}: unknown optimizer class '${fmtText(oc?.class_name)}' in trainingConfig (supported: Adam, SGD, Momentum, RMSProp, Adagrad, Adadelta); load with { includeOptimizer: false } to skip it`);
  }
}

/** Compiles a loaded model from trainingConfig and restores the optimizer arrays saved with it. */
export function applyTrainingConfig(file: string, model: Sequential, tc: TrainingConfig, arrays: NamedWeight[]): void {
  const op = 'loadModel';
  if (typeof tc.loss !== 'string') throw new TensorboltError(op, `${file}: trainingConfig.loss must be one loss name, got ${fmtValue(tc.loss)}`);
  const { opt, layout } = optimizerFromConfig(file, tc.optimizer_config);
  const metrics = Array.isArray(tc.metrics) ? tc.metrics.map(String) : [];
  try {
    model.compile({ optimizer: opt, loss: tc.loss, metrics });
  } catch (e) {
    if (e instanceof TensorboltError) throw new TensorboltError(op, `${file}: trainingConfig: ${e.message}`);
    throw e;
  }
  model.ensureOptimizer();
  if (arrays.length === 0) return;
  const iterEntry = arrays[0]!;
  if (iterEntry.spec.name !== 'iter' || iterEntry.data.length !== 1)
    throw new TensorboltError(op, `${file}: the optimizer weights must start with the scalar 'iter', got '${iterEntry.spec.name}' [${iterEntry.spec.shape.join(',')}]`);
  const iter = iterEntry.data[0]!;
  const rest = arrays.slice(1);
  const ours = new Map<string, [string, string][]>([['Adam', [['expAvg', 'm'], ['expAvgSq', 'v']]], ['Momentum', [['momentumBuffer', 'momentum']]], ['SGD', []]]);
  const names = ours.get(layout);
  if (rest.length === 0) {
    // iter 0 with no arrays is an optimizer that never stepped (what tfjs writes then); a count of
    // steps without their moments would resume from zeroed moments, somewhere else
    if (iter !== 0 && names?.length !== 0)
      throw new TensorboltError(op, `${file}: the optimizer state is incomplete: 'iter' is ${iter} but the manifest holds none of ${layout}'s arrays; load with { includeOptimizer: false } to start the optimizer afresh`);
    return;
  }
  if (!names)
    throw new TensorboltError(op, `${file}: restoring ${layout} optimizer state is not supported (only Adam, SGD and Momentum); load with { includeOptimizer: false } and compile again`);
  const weights = trainableWeights(model);
  if (rest.length !== names.length * weights.length)
    throw new TensorboltError(op, `${file}: ${rest.length} optimizer arrays for ${weights.length} trainable weights; ${layout} keeps ${names.length} per weight (${names.map(([, s]) => s).join(', ')})`);
  if (!Number.isInteger(iter) || iter < 1) throw new TensorboltError(op, `${file}: optimizer 'iter' is ${iter}, but the optimizer has state`);
  const index = new Map(opt.params().map((p, i) => [p, i]));
  const state: OptimizerStateDict['state'] = {};
  names.forEach(([buffer, suffix], b) => {
    weights.forEach(([name, p], i) => {
      const a = rest[b * weights.length + i]!;
      if (a.spec.shape.join(',') !== p.shape.join(',') || a.spec.dtype !== 'float32')
        throw new TensorboltError(op, `${file}: optimizer array '${a.spec.name}' is ${a.spec.dtype} [${a.spec.shape.join(',')}] but weight '${name}' (its ${suffix}) is float32 [${p.shape.join(',')}]`);
      const k = index.get(p)!;
      (state[k] ??= { step: iter })[buffer] = a.data as Float32Array;
    });
  });
  opt.loadStateDict({ state, paramGroups: opt.stateDict().paramGroups });
}
