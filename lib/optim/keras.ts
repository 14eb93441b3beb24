// Keras-style optimizers by name: model.compile({ optimizer: 'adam' }). The instances are the
// PyTorch-style classes of this folder configured with Keras's defaults, created without parameters
// (compile runs before the model's weights exist; the trainer adds them with addParamGroup).
//
// Defaults are Keras 3's (keras.optimizers in Keras 3.0 to 3.x; tf.keras 2.11+ has the same values):
//   sgd       learning_rate 0.01, momentum 0, nesterov false
//   adam      learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7, amsgrad false
//   adamw     as adam, weight_decay 0.004 (decoupled)
//   rmsprop   learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false
//   adagrad   learning_rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7
//   adadelta  learning_rate 0.001, rho 0.95, epsilon 1e-7
// Where Keras's arithmetic differs from PyTorch's:
// - RMSprop and Adagrad: Keras divides by sqrt(avg + epsilon), PyTorch by sqrt(avg) + eps. The
//   instances made here set epsInsideSqrt so they follow Keras exactly; for RMSprop the difference
//   is large when gradients are small (sqrt(1e-7) ≈ 3e-4 dominates a tiny sqrt(avg)).
// - Adam/AdamW: Keras's epsilon is "epsilon hat" (added after the bias correction of sqrt(v)); it is
//   used here as PyTorch's eps, which equals Keras's epsilon / sqrt(1 - beta2^t): a difference only
//   while sqrt(v) ~ epsilon, in the first steps.
// - SGD and RMSprop momentum: Keras keeps lr inside its velocity, PyTorch outside; identical for a
//   constant learning rate, slightly different right after a schedule changes it.
// - weight_decay: Keras 3 applies it decoupled (p -= lr * wd * p) in every optimizer; here only
//   'adamw' takes it, since the other classes implement PyTorch's L2 form.
import { TensorboltError } from '../tensor/errors.js';
import { Adadelta } from './adadelta.js';
import { Adagrad } from './adagrad.js';
import { Adam, AdamW } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad' | 'adadelta';
/** What compile({ optimizer }) takes by name: the names above, or Keras's class names. */
export type KerasOptimizerName = OptimizerName | 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad' | 'Adadelta';

export interface KerasOptimizerOptions {
  learningRate?: number;
  /** sgd, rmsprop */
  momentum?: number;
  /** sgd */
  nesterov?: boolean;
  /** adam, adamw */
  beta1?: number;
  beta2?: number;
  amsgrad?: boolean;
  /** adam, adamw, rmsprop, adagrad, adadelta */
  epsilon?: number;
  /** adamw (decoupled) */
  weightDecay?: number;
  /** rmsprop, adadelta */
  rho?: number;
  /** rmsprop */
  centered?: boolean;
  /** adagrad */
  initialAccumulatorValue?: number;
  // Keras's own spellings of the same options (Python's snake_case): either form is accepted.
  learning_rate?: number;
  beta_1?: number;
  beta_2?: number;
  weight_decay?: number;
  initial_accumulator_value?: number;
}

type CamelOptions = Omit<KerasOptimizerOptions, 'learning_rate' | 'beta_1' | 'beta_2' | 'weight_decay' | 'initial_accumulator_value'>;
const SNAKE: Record<string, keyof CamelOptions> = {
  learning_rate: 'learningRate', beta_1: 'beta1', beta_2: 'beta2', weight_decay: 'weightDecay',
  initial_accumulator_value: 'initialAccumulatorValue',
};

type Opts = CamelOptions;
type Maker = (o: Opts) => Optimizer<{ lr: number }>;

const MAKERS: Record<OptimizerName, { keys: (keyof Opts)[]; make: Maker }> = {
  sgd: {
    keys: ['learningRate', 'momentum', 'nesterov'],
    make: (o) => new SGD([], { lr: o.learningRate ?? 0.01, momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false }),
  },
  adam: {
    keys: ['learningRate', 'beta1', 'beta2', 'epsilon', 'amsgrad'],
    make: (o) => new Adam([], {
      lr: o.learningRate ?? 0.001, betas: [o.beta1 ?? 0.9, o.beta2 ?? 0.999], eps: o.epsilon ?? 1e-7, amsgrad: o.amsgrad ?? false,
    }),
  },
  adamw: {
    keys: ['learningRate', 'beta1', 'beta2', 'epsilon', 'amsgrad', 'weightDecay'],
    make: (o) => new AdamW([], {
      lr: o.learningRate ?? 0.001, betas: [o.beta1 ?? 0.9, o.beta2 ?? 0.999], eps: o.epsilon ?? 1e-7,
      amsgrad: o.amsgrad ?? false, weightDecay: o.weightDecay ?? 0.004,
    }),
  },
  rmsprop: {
    keys: ['learningRate', 'rho', 'momentum', 'epsilon', 'centered'],
    make: (o) => new RMSprop([], {
      lr: o.learningRate ?? 0.001, alpha: o.rho ?? 0.9, momentum: o.momentum ?? 0, eps: o.epsilon ?? 1e-7,
      centered: o.centered ?? false, epsInsideSqrt: true,
    }),
  },
  adagrad: {
    keys: ['learningRate', 'initialAccumulatorValue', 'epsilon'],
    make: (o) => new Adagrad([], {
      lr: o.learningRate ?? 0.001, initialAccumulatorValue: o.initialAccumulatorValue ?? 0.1, eps: o.epsilon ?? 1e-7,
      epsInsideSqrt: true,
    }),
  },
  adadelta: {
    keys: ['learningRate', 'rho', 'epsilon'],
    make: (o) => new Adadelta([], { lr: o.learningRate ?? 0.001, rho: o.rho ?? 0.95, eps: o.epsilon ?? 1e-7 }),
  },
};

/** Names optimizerFromName accepts. */
export const optimizerNames: readonly OptimizerName[] = Object.keys(MAKERS) as OptimizerName[];

/**
 * A Keras-configured optimizer with no parameters yet: optimizerFromName('adam', { learningRate: 1e-3 }).
 * Names are case-insensitive. Unknown names and options throw TensorboltError('optimizer', ...).
 */
export function optimizerFromName(name: string, opts: KerasOptimizerOptions = {}): Optimizer<{ lr: number }> {
  if (typeof name !== 'string')
    throw new TensorboltError('optimizer', `an optimizer name must be a string, got ${typeof name}; valid names: ${optimizerNames.join(', ')}`);
  const key = name.toLowerCase() as OptimizerName;
  const entry = Object.prototype.hasOwnProperty.call(MAKERS, key) ? MAKERS[key] : undefined;
  if (!entry) throw new TensorboltError('optimizer', `unknown optimizer '${name}'; valid names: ${optimizerNames.join(', ')}`);
  if (opts === null || typeof opts !== 'object')
    throw new TensorboltError('optimizer', `options for '${key}' must be an object`);
  const camel: Record<string, unknown> = {};
  for (const [k0, v] of Object.entries(opts)) {
    const k = SNAKE[k0] ?? k0;
    if (!entry.keys.includes(k as keyof Opts))
      throw new TensorboltError('optimizer', `'${key}' has no option '${k0}'; valid options: ${entry.keys.join(', ')} (or their snake_case forms)`);
    if (k in camel) throw new TensorboltError('optimizer', `'${key}' got ${k} twice (as ${k} and as ${Object.keys(SNAKE).find((s) => SNAKE[s] === k)})`);
    camel[k] = v;
  }
  return entry.make(camel as Opts);
}

/**
 * Keras's optimizer objects, for compile({ optimizer }) with settings:
 * `tb.optimizers.adadelta({ learningRate: 1.0 })` (or `{ learning_rate: 1.0 }`). Defaults are Keras's.
 */
export const optimizers = {
  sgd: (opts?: KerasOptimizerOptions) => optimizerFromName('sgd', opts),
  adam: (opts?: KerasOptimizerOptions) => optimizerFromName('adam', opts),
  adamw: (opts?: KerasOptimizerOptions) => optimizerFromName('adamw', opts),
  rmsprop: (opts?: KerasOptimizerOptions) => optimizerFromName('rmsprop', opts),
  adagrad: (opts?: KerasOptimizerOptions) => optimizerFromName('adagrad', opts),
  adadelta: (opts?: KerasOptimizerOptions) => optimizerFromName('adadelta', opts),
};
