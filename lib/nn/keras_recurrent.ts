// Keras-style recurrent layers (tb.layers.embedding, simpleRNN, lstm, gru, bidirectional): inputs
// (batch, time, features), Keras's defaults (Glorot-uniform kernels, orthogonal recurrent kernels,
// zero biases, the LSTM forget gate's bias at 1, sigmoid gates, GRU reset_after), weights named as
// TensorFlow.js names them ('<layer>/kernel', '<layer>/recurrent_kernel', '<layer>/bias').
// Each layer's work is one recurrence op (lib/ops/rnn.ts) per direction.
import { TensorboltError, checkOptions, fmtShape, fmtValue } from '../tensor/errors.js';
import { ones, zeros, rand, tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { Random } from '../tensor/random.js';
import { add, mul } from '../ops/elementwise.js';
import { concat, gather } from '../ops/layout.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { embedding as embeddingOp, indicesOf } from '../ops/embedding.js';
import { recurrence, type RecurrentActivation, type RnnCellKind } from '../ops/rnn.js';
import { Layer, glorotUniform, type CallOptions, type LayerArgs, type SampleShape } from './keras_layers.js';
import { parameter } from './module.js';
import { orthogonal } from './init.js';

export type RecurrentActivationName = RecurrentActivation;

export interface RecurrentCallOptions extends CallOptions {
  /** [h] (SimpleRNN, GRU) or [h, c] (LSTM), each (batch, units); zeros when absent. */
  initialState?: Tensor | Tensor[];
}

// ---------------- Embedding ----------------

export interface EmbeddingArgs extends LayerArgs {
  inputDim: number;
  outputDim: number;
  /** The sequence length (Keras's input_length): the same as inputShape [inputLength]. */
  inputLength?: number;
  /** Masking is not supported: must be false. */
  maskZero?: boolean;
}

/**
 * Integer indices (batch, ...) -> vectors (batch, ..., outputDim). Float indices must hold whole
 * numbers (Keras truncates 2.7 to 2; here it is an error, as is NaN).
 */
export class Embedding extends Layer {
  readonly className = 'Embedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly inputLength: number | null;
  embeddings: Tensor | null = null;

  constructor(args: EmbeddingArgs) {
    // inputLength is Keras's way to give the input shape [inputLength].
    const withShape = args && typeof args === 'object' && !args.inputShape && !args.batchInputShape && args.inputLength
      ? { ...args, inputShape: [args.inputLength] } : args;
    super(withShape, 'embedding');
    for (const k of ['inputDim', 'outputDim'] as const)
      if (!Number.isInteger(args[k]) || args[k] <= 0) throw new TensorboltError(this.name, `${k} must be a positive integer, got ${fmtValue(args[k])}`);
    if (args.maskZero) throw new TensorboltError(this.name, 'maskZero is not supported (layers pass no masks); pad with an index the model can learn to ignore');
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.inputLength = args.inputLength ?? null;
  }
  computeOutputShape(s: SampleShape): SampleShape {
    return [...s, this.outputDim];
  }
  override build(s: SampleShape): void {
    super.build(s);
    this.embeddings = parameter(rand([this.inputDim, this.outputDim], -0.05, 0.05));
  }
  // Any sequence length once built (the table does not depend on it).
  override apply(x: Tensor, opts: CallOptions = {}): Tensor {
    if (x instanceof Tensor && !this.built) {
      this.build(x.shape.slice(1));
      this.syncDevice(); // built after its model moved (model.to): joins the model's device
    }
    return this.call(x);
  }
  call(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) throw new TensorboltError(this.name, `input must be a Tensor of indices, got ${fmtValue(x)}`);
    const idx = indicesOf(this.name, x);
    try {
      return embeddingOp(this.embeddings!, idx, { name: this.name });
    } finally {
      if (idx !== x) idx.dispose();
    }
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), input_dim: this.inputDim, output_dim: this.outputDim,
      embeddings_initializer: { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } },
      embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null, mask_zero: false,
      input_length: this.inputLength };
  }
  override weightsWithNames(): [string, Tensor][] {
    return this.embeddings ? [[`${this.name}/embeddings`, this.embeddings]] : [];
  }
}

// ---------------- SimpleRNN, LSTM, GRU ----------------

/**
 * Arguments of simpleRNN, lstm and gru. Not supported: masking and variable-length sequences (every
 * sequence of a batch has the same length), stateful layers (pass the state to applyWithState).
 */
export interface RNNLayerArgs extends LayerArgs {
  units: number;
  /** The cell's activation (default 'tanh'). */
  activation?: RecurrentActivationName;
  useBias?: boolean;
  /** Output every step's h (batch, time, units) instead of the last (batch, units). */
  returnSequences?: boolean;
  /** applyWithState() returns [output, ...final states]; apply() refuses (a Sequential passes one tensor). */
  returnState?: boolean;
  /** Read the sequence from the end; the output sequence comes out reversed, as in Keras. */
  goBackwards?: boolean;
  /** Dropout on the inputs (one mask per sequence, as Keras), training only. */
  dropout?: number;
  /** Dropout on the h each step reads (one mask per sequence), training only. */
  recurrentDropout?: number;
  /** Seed of the dropout masks (default: the global generator). */
  seed?: number;
  /** Not supported: must be false. */
  stateful?: boolean;
  /** Accepted and ignored: the native kernel runs the loop. */
  unroll?: boolean;
}
export interface LSTMLayerArgs extends RNNLayerArgs {
  /** The gates' activation (default 'sigmoid' as in Keras; TensorFlow.js's files say 'hard_sigmoid'). */
  recurrentActivation?: RecurrentActivationName;
  /** Initialize the forget gate's bias to 1 (default true). */
  unitForgetBias?: boolean;
}
export interface GRULayerArgs extends RNNLayerArgs {
  recurrentActivation?: RecurrentActivationName;
  /** Reset gate after the recurrent product, with a second bias (default true, as Keras 2+; TensorFlow.js supports only false). */
  resetAfter?: boolean;
}

const ACTS: RecurrentActivationName[] = ['tanh', 'sigmoid', 'hardSigmoid', 'relu', 'linear'];
/** Keras/TensorFlow.js's spelling in files. */
export function kerasRecurrentActivation(a: RecurrentActivationName): string {
  return a === 'hardSigmoid' ? 'hard_sigmoid' : a;
}

function rate(layer: string, name: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new TensorboltError(layer, `${name} must be in [0, 1), got ${fmtValue(v)}`);
  return v;
}

/** Reverses the time axis (1) of (batch, time, units). */
function reverseTime(y: Tensor): Tensor {
  const T = y.shape[1]!;
  return gather(y, Int32Array.from({ length: T }, (_, i) => T - 1 - i), 1);
}

export abstract class RecurrentLayer extends Layer {
  abstract readonly cell: RnnCellKind;
  readonly units: number;
  readonly activation: RecurrentActivationName;
  readonly recurrentActivation: RecurrentActivationName;
  readonly useBias: boolean;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly dropoutRate: number;
  readonly recurrentDropout: number;
  kernel: Tensor | null = null;
  recurrentKernel: Tensor | null = null;
  bias: Tensor | null = null;
  /** @internal The constructor's arguments (Bidirectional builds its two copies from them). */
  readonly args: RNNLayerArgs;
  private readonly rng: Random | null;

  constructor(args: LSTMLayerArgs & GRULayerArgs, base: string) {
    super(args, base);
    this.args = { ...args };
    if (!Number.isInteger(args.units) || args.units <= 0) throw new TensorboltError(this.name, `units must be a positive integer, got ${fmtValue(args.units)}`);
    if (args.stateful) throw new TensorboltError(this.name, 'stateful is not supported; pass the state with applyWithState(x, { initialState })');
    for (const k of ['activation', 'recurrentActivation'] as const)
      if (args[k] !== undefined && !ACTS.includes(args[k]!))
        throw new TensorboltError(this.name, `${k} must be one of ${ACTS.join(', ')}, got ${fmtValue(args[k])}`);
    if (args.seed !== undefined && !Number.isSafeInteger(args.seed)) throw new TensorboltError(this.name, `seed must be an integer, got ${fmtValue(args.seed)}`);
    this.units = args.units;
    this.activation = args.activation ?? 'tanh';
    this.recurrentActivation = args.recurrentActivation ?? 'sigmoid';
    this.useBias = args.useBias !== false;
    this.returnSequences = args.returnSequences === true;
    this.returnState = args.returnState === true;
    this.goBackwards = args.goBackwards === true;
    this.dropoutRate = rate(this.name, 'dropout', args.dropout);
    this.recurrentDropout = rate(this.name, 'recurrentDropout', args.recurrentDropout);
    this.rng = args.seed !== undefined ? new Random(args.seed) : null;
  }

  protected get gates(): number {
    return this.cell === 'lstm' ? 4 : this.cell === 'gru' ? 3 : 1;
  }

  /** @internal A copy with some arguments changed (unbuilt). */
  cloneWith(over: Partial<RNNLayerArgs>): RecurrentLayer {
    const Ctor = this.constructor as new (a: RNNLayerArgs) => RecurrentLayer;
    return new Ctor({ ...this.args, inputShape: undefined, batchInputShape: undefined, ...over });
  }

  private checkSample(s: SampleShape): void {
    if (s.length !== 2)
      throw new TensorboltError(this.name, `${this.className} expects input (batch, time, features), got sample shape [${s.join(',')}]`);
    const f = this.builtInputShape?.[1];
    if (f !== undefined && s[1] !== f)
      throw new TensorboltError(this.name, `expected input (batch, time, ${f}), got sample shape [${s.join(',')}] (${s[1]} features)`);
  }

  computeOutputShape(s: SampleShape): SampleShape {
    this.checkSample(s);
    return this.returnSequences ? [s[0]!, this.units] : [this.units];
  }

  protected initialBias(): Tensor {
    return zeros([this.gates * this.units]);
  }

  override build(s: SampleShape): void {
    super.build(s);
    const F = s[1]!, GH = this.gates * this.units;
    this.kernel = glorotUniform([F, GH], F, GH);
    this.recurrentKernel = parameter(orthogonal(this.units, GH));
    this.bias = this.useBias ? parameter(this.initialBias()) : null;
  }

  // Any sequence length once built: only the feature count is fixed by the weights.
  override apply(x: Tensor, opts: CallOptions = {}): Tensor {
    if (this.returnState)
      throw new TensorboltError(this.name, 'returnState: true gives [output, ...states]: call applyWithState(x) (a Sequential model passes one tensor between layers)');
    return this.applyWithState(x, opts)[0]!;
  }

  call(x: Tensor, opts: CallOptions = {}): Tensor {
    return this.apply(x, opts);
  }

  /** [output, h] (SimpleRNN, GRU) or [output, h, c] (LSTM), as Keras's layer with return_state. */
  applyWithState(x: Tensor, opts: RecurrentCallOptions = {}): Tensor[] {
    const { output, states } = this.run(x, opts);
    return [output, ...states];
  }

  /** @internal The aligned sequence (each h at its input's position), the final states. */
  runAligned(x: Tensor, opts: RecurrentCallOptions = {}): { y: Tensor; h: Tensor; c: Tensor | null } {
    checkOptions(this.name, opts);
    if (!(x instanceof Tensor)) throw new TensorboltError(this.name, `input must be a Tensor, got ${fmtValue(x)}`);
    if (x.rank !== 3) throw new TensorboltError(this.name, `${this.className} expects input (batch, time, features), got ${fmtShape(x.shape)}`);
    this.checkSample(x.shape.slice(1));
    if (!this.built) {
      this.build(x.shape.slice(1));
      this.syncDevice();
    }
    const [h0, c0] = this.initialState(opts.initialState);
    const B = x.shape[0]!;
    const training = opts.training === true;
    const maskOf = (shape: number[], r: number): Tensor => {
      const one = ones(shape, { device: x.device });
      const m = dropoutOp(one, r, { training: true, seed: this.rng ? this.rng.nextU32() : undefined });
      one.dispose();
      return m;
    };
    let xin = x;
    let inMask: Tensor | null = null;
    if (training && this.dropoutRate > 0) {
      inMask = maskOf([B, 1, x.shape[2]!], this.dropoutRate);
      xin = mul(x, inMask);
    }
    const rmask = training && this.recurrentDropout > 0 ? maskOf([B, this.units], this.recurrentDropout) : null;
    const r = recurrence(xin, { kernel: this.kernel!, recurrentKernel: this.recurrentKernel!, bias: this.bias }, {
      cell: this.cell, batchFirst: true, reverse: this.goBackwards, activation: this.activation,
      recurrentActivation: this.recurrentActivation, resetAfter: this.resetAfterFlag(), h0, c0, recurrentMask: rmask, name: this.name,
    });
    // inMask stays: the product's backward reads it (it goes with the scope, as any intermediate).
    return { y: r.output, h: r.h, c: r.c };
  }

  /** @internal What this layer outputs, and its final states. */
  run(x: Tensor, opts: RecurrentCallOptions = {}): { output: Tensor; states: Tensor[] } {
    const { y, h, c } = this.runAligned(x, opts);
    const output = this.returnSequences ? (this.goBackwards ? reverseTime(y) : y) : h;
    return { output, states: c ? [h, c] : [h] };
  }

  protected resetAfterFlag(): boolean {
    return true;
  }

  private initialState(s: Tensor | Tensor[] | undefined): [Tensor | null, Tensor | null] {
    if (s === undefined || s === null) return [null, null];
    const list = Array.isArray(s) ? s : [s];
    const want = this.cell === 'lstm' ? 2 : 1;
    if (list.length !== want || !list.every((t) => t instanceof Tensor))
      throw new TensorboltError(this.name, `initialState must be ${want === 2 ? '[h, c]' : '[h]'}, each (batch, ${this.units}), got ${fmtValue(s)}`);
    return [list[0]!, list[1] ?? null];
  }

  override getConfig(): Record<string, unknown> {
    const c: Record<string, unknown> = { ...super.getConfig(), units: this.units, activation: kerasRecurrentActivation(this.activation) };
    if (this.cell !== 'rnn') c.recurrent_activation = kerasRecurrentActivation(this.recurrentActivation);
    Object.assign(c, {
      use_bias: this.useBias,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      recurrent_initializer: { class_name: 'Orthogonal', config: { gain: 1, seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
      kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
      dropout: this.dropoutRate, recurrent_dropout: this.recurrentDropout,
      return_sequences: this.returnSequences, return_state: this.returnState, go_backwards: this.goBackwards,
      stateful: false, unroll: false,
    });
    return c;
  }

  override weightsWithNames(): [string, Tensor][] {
    const w: [string, Tensor][] = [];
    if (this.kernel) w.push([`${this.name}/kernel`, this.kernel]);
    if (this.recurrentKernel) w.push([`${this.name}/recurrent_kernel`, this.recurrentKernel]);
    if (this.bias) w.push([`${this.name}/bias`, this.bias]);
    return w;
  }
}

export class SimpleRNN extends RecurrentLayer {
  readonly className = 'SimpleRNN';
  readonly cell = 'rnn' as const;
  constructor(args: RNNLayerArgs) {
    super(args, 'simple_rnn');
  }
}

export class LSTM extends RecurrentLayer {
  readonly className = 'LSTM';
  readonly cell = 'lstm' as const;
  readonly unitForgetBias: boolean;
  constructor(args: LSTMLayerArgs) {
    super(args, 'lstm');
    this.unitForgetBias = args.unitForgetBias !== false;
  }
  protected override initialBias(): Tensor {
    const b = new Float32Array(4 * this.units);
    if (this.unitForgetBias) b.fill(1, this.units, 2 * this.units);
    return tensor(b, [4 * this.units]);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), unit_forget_bias: this.unitForgetBias, implementation: 2 };
  }
}

export class GRU extends RecurrentLayer {
  readonly className = 'GRU';
  readonly cell = 'gru' as const;
  readonly resetAfter: boolean;
  constructor(args: GRULayerArgs) {
    super(args, 'gru');
    this.resetAfter = args.resetAfter !== false;
  }
  protected override resetAfterFlag(): boolean {
    return this.resetAfter;
  }
  // reset_after keeps the input and the recurrent bias apart: (2, 3·units).
  protected override initialBias(): Tensor {
    return this.resetAfter ? zeros([2, 3 * this.units]) : zeros([3 * this.units]);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), reset_after: this.resetAfter, implementation: 2 };
  }
}

// ---------------- Bidirectional ----------------

export type MergeMode = 'concat' | 'sum' | 'ave' | 'mul';

export interface BidirectionalArgs extends LayerArgs {
  layer: RecurrentLayer;
  /** How the two directions' outputs combine (default 'concat'). */
  mergeMode?: MergeMode;
}

/** Runs a copy of the layer forward and a copy backward over the sequence and merges them (Keras). */
export class Bidirectional extends Layer {
  readonly className = 'Bidirectional';
  readonly forwardLayer: RecurrentLayer;
  readonly backwardLayer: RecurrentLayer;
  readonly mergeMode: MergeMode;
  private readonly layerJson: { class_name: string; config: Record<string, unknown> };

  constructor(args: BidirectionalArgs) {
    super(args, 'bidirectional');
    const l = args.layer;
    if (!(l instanceof RecurrentLayer)) throw new TensorboltError(this.name, `layer must be a recurrent layer (simpleRNN, lstm, gru), got ${fmtValue(l)}`);
    if (l.built) throw new TensorboltError(this.name, `layer '${l.name}' is already built; pass a fresh layer (Bidirectional makes its own two copies)`);
    const mm = args.mergeMode ?? 'concat';
    if (!['concat', 'sum', 'ave', 'mul'].includes(mm)) throw new TensorboltError(this.name, `mergeMode must be 'concat', 'sum', 'ave' or 'mul', got ${fmtValue(mm)}`);
    this.mergeMode = mm;
    this.layerJson = { class_name: l.className, config: l.getConfig() };
    delete this.layerJson.config.batch_input_shape;
    this.forwardLayer = l.cloneWith({ name: `forward_${l.name}` });
    this.backwardLayer = l.cloneWith({ name: `backward_${l.name}`, goBackwards: !l.goBackwards });
  }

  computeOutputShape(s: SampleShape): SampleShape {
    const o = this.forwardLayer.computeOutputShape(s);
    if (this.mergeMode === 'concat') o[o.length - 1]! *= 2;
    return o;
  }

  override build(s: SampleShape): void {
    super.build(s);
    this.forwardLayer.build(s);
    this.backwardLayer.build(s);
  }

  override apply(x: Tensor, opts: CallOptions = {}): Tensor {
    if (this.forwardLayer.returnState)
      throw new TensorboltError(this.name, 'returnState: true gives [output, ...states]: call applyWithState(x) (a Sequential model passes one tensor between layers)');
    return this.applyWithState(x, opts)[0]!;
  }

  call(x: Tensor, opts: CallOptions = {}): Tensor {
    return this.apply(x, opts);
  }

  /** [output, ...forward states, ...backward states]; initialState likewise (forward's, then backward's). */
  applyWithState(x: Tensor, opts: RecurrentCallOptions = {}): Tensor[] {
    checkOptions(this.name, opts);
    if (x instanceof Tensor && !this.built && x.rank === 3) {
      this.build(x.shape.slice(1));
      this.syncDevice();
    }
    const init = opts.initialState === undefined ? undefined : Array.isArray(opts.initialState) ? opts.initialState : [opts.initialState];
    if (init && init.length % 2 !== 0)
      throw new TensorboltError(this.name, `initialState must hold the forward layer's states then the backward layer's, got ${init.length} tensors`);
    const half = init ? init.length / 2 : 0;
    const fl = this.forwardLayer, bl = this.backwardLayer;
    const f = fl.runAligned(x, { training: opts.training, initialState: init?.slice(0, half) });
    const b = bl.runAligned(x, { training: opts.training, initialState: init?.slice(half) });
    // As Keras: each copy's output sequence comes out reversed when it goes backwards, and the
    // backward copy's is then turned around; for the usual pair both end up in the input's order.
    const seq = fl.returnSequences;
    const yf = seq ? (fl.goBackwards ? reverseTime(f.y) : f.y) : f.h;
    const yb = seq ? (bl.goBackwards ? b.y : reverseTime(b.y)) : b.h;
    let out: Tensor;
    if (this.mergeMode === 'concat') out = concat([yf, yb], yf.rank - 1);
    else if (this.mergeMode === 'sum') out = add(yf, yb);
    else if (this.mergeMode === 'mul') out = mul(yf, yb);
    else out = mul(add(yf, yb), 0.5);
    const states = (r: { h: Tensor; c: Tensor | null }) => (r.c ? [r.h, r.c] : [r.h]);
    return [out, ...states(f), ...states(b)];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), merge_mode: this.mergeMode, layer: this.layerJson };
  }

  override weightsWithNames(): [string, Tensor][] {
    return [...this.forwardLayer.weightsWithNames(), ...this.backwardLayer.weightsWithNames()].map(([n, t]) => [`${this.name}/${n}`, t]);
  }
}

/** tb.layers.* factories of this file. */
export const recurrentLayers = {
  embedding: (args: EmbeddingArgs) => new Embedding(args),
  simpleRNN: (args: RNNLayerArgs) => new SimpleRNN(args),
  lstm: (args: LSTMLayerArgs) => new LSTM(args),
  gru: (args: GRULayerArgs) => new GRU(args),
  bidirectional: (args: BidirectionalArgs) => new Bidirectional(args),
};
