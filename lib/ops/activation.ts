// Pointwise activations (one native kernel each, forward and gradient), and the name -> function
// table that layers use for their `activation` option.
import { ActivationOp, type ActivationOpName } from '../native/opcodes.js';
import { record } from '../tensor/autograd.js';
import { TensorboltError } from '../tensor/errors.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { logSoftmax, softmax } from './softmax.js';
import { describe, requireFloat, tensorArg } from './util.js';

function activate(op: string, code: ActivationOpName, x: Tensor, alpha = 0): Tensor {
  tensorArg(op, x);
  requireFloat(op, x);
  const k = ActivationOp[code];
  const be = x._be;
  const out = empty(be, x.shape);
  be.activation(k, x.f32(op), out.f32(op), alpha);
  // sigmoid and tanh take their derivative from the output, the rest from x; out is alive whenever
  // this runs (disposing it drops the node).
  return record(op, out, [x], (dy) => {
    const dx = empty(be, x.shape);
    be.activationBackward(k, x.f32(op), out.f32(op), dy.f32(op), dx.f32(op), alpha);
    return [dx];
  });
}

function alphaArg(op: string, alpha: unknown): number {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw new TensorboltError(op, `alpha must be a finite number, got ${describe(alpha)}`);
  return alpha;
}

/** max(x, 0). Gradient 0 at x = 0. */
export function relu(x: Tensor): Tensor {
  return activate('relu', 'relu', x);
}

/**
 * x for x > 0, alpha * x otherwise. The default alpha = 0.2 is TensorFlow.js's (and Keras's
 * LeakyReLU layer's); PyTorch's nn.LeakyReLU defaults to 0.01.
 */
export function leakyRelu(x: Tensor, alpha = 0.2): Tensor {
  return activate('leakyRelu', 'leakyRelu', x, alphaArg('leakyRelu', alpha));
}

/** x for x > 0, alpha * (exp(x) - 1) otherwise. */
export function elu(x: Tensor, alpha = 1): Tensor {
  return activate('elu', 'elu', x, alphaArg('elu', alpha));
}

/** 1 / (1 + exp(-x)), without overflow for any x. */
export function sigmoid(x: Tensor): Tensor {
  return activate('sigmoid', 'sigmoid', x);
}

export function tanh(x: Tensor): Tensor {
  return activate('tanh', 'tanh', x);
}

export interface GeluOptions {
  /** Use the tanh approximation (PyTorch's approximate='tanh', GPT-2's "gelu_new"). Default false: exact erf form. */
  approximate?: boolean;
}

/** x * Φ(x) with Φ the standard normal CDF (PyTorch's default exact form), or its tanh approximation. */
export function gelu(x: Tensor, opts: GeluOptions = {}): Tensor {
  if (opts === null || typeof opts !== 'object') throw new TensorboltError('gelu', `options must be an object, got ${describe(opts)}`);
  const approx = opts.approximate ?? false;
  if (typeof approx !== 'boolean') throw new TensorboltError('gelu', `approximate must be a boolean, got ${describe(approx)}`);
  return activate('gelu', approx ? 'geluTanh' : 'gelu', x);
}

/** log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)): exact for large |x|. */
export function softplus(x: Tensor): Tensor {
  return activate('softplus', 'softplus', x);
}

/** min(max(x, 0), 6). Gradient 0 at both kinks. */
export function relu6(x: Tensor): Tensor {
  return activate('relu6', 'relu6', x);
}

/** scale * (x > 0 ? x : alpha * (exp(x) - 1)) with the fixed constants of Klambauer et al. (2017). */
export function selu(x: Tensor): Tensor {
  return activate('selu', 'selu', x);
}

export type ActivationIdentifier =
  | 'linear' | 'relu' | 'leakyRelu' | 'elu' | 'sigmoid' | 'tanh' | 'gelu' | 'softplus' | 'relu6' | 'selu'
  | 'softmax' | 'logSoftmax';

const BY_NAME = new Map<string, (x: Tensor) => Tensor>([
  // 'linear' is the identity and returns its argument itself (as TensorFlow.js does).
  ['linear', (x) => x],
  ['relu', relu],
  ['leakyRelu', (x) => leakyRelu(x)],
  ['elu', (x) => elu(x)],
  ['sigmoid', sigmoid],
  ['tanh', tanh],
  ['gelu', (x) => gelu(x)],
  ['softplus', softplus],
  ['relu6', relu6],
  ['selu', selu],
  ['softmax', (x) => softmax(x)],
  ['logSoftmax', (x) => logSoftmax(x)],
]);

// Spellings found in Keras / TensorFlow.js model files.
const ALIASES = new Map<string, string>([
  ['leaky_relu', 'leakyRelu'],
  ['log_softmax', 'logSoftmax'],
]);

/**
 * The activation function called `name` (Keras's `activation: 'relu'`), with its default parameters;
 * softmax and logSoftmax act on the last axis. Throws naming the valid names for an unknown one.
 */
export function activationByName(name: ActivationIdentifier | string): (x: Tensor) => Tensor {
  const f = typeof name === 'string' ? BY_NAME.get(ALIASES.get(name) ?? name) : undefined;
  if (!f)
    throw new TensorboltError('activationByName', `unknown activation ${typeof name === 'string' ? `'${name}'` : describe(name)}; valid names: ${[...BY_NAME.keys()].map((k) => `'${k}'`).join(', ')}`);
  return f;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    relu(): Tensor;
    leakyRelu(alpha?: number): Tensor;
    elu(alpha?: number): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    gelu(opts?: GeluOptions): Tensor;
    softplus(): Tensor;
    relu6(): Tensor;
    selu(): Tensor;
  }
}
Tensor.prototype.relu = function () { return relu(this); };
Tensor.prototype.leakyRelu = function (alpha?: number) { return leakyRelu(this, alpha); };
Tensor.prototype.elu = function (alpha?: number) { return elu(this, alpha); };
Tensor.prototype.sigmoid = function () { return sigmoid(this); };
Tensor.prototype.tanh = function () { return tanh(this); };
Tensor.prototype.gelu = function (opts?: GeluOptions) { return gelu(this, opts); };
Tensor.prototype.softplus = function () { return softplus(this); };
Tensor.prototype.relu6 = function () { return relu6(this); };
Tensor.prototype.selu = function () { return selu(this); };
