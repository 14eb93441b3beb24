// PyTorch-style recurrent modules: nn.Embedding, nn.RNN, nn.LSTM, nn.GRU with PyTorch's parameter
// names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse), shapes ((G·hidden, in),
// gates i, f, g, o for LSTM and r, z, n for GRU), initialization U(-1/sqrt(hidden), 1/sqrt(hidden)),
// inputs (time, batch, features) unless batchFirst, and outputs [output, h_n] / [output, [h_n, c_n]]
// with states (numLayers·directions, batch, hidden). Each layer and direction is one recurrence op.
import { TensorboltError, fmtShape, fmtValue, checkOptions } from '../tensor/errors.js';
import { randn, rand } from '../tensor/creation.js';
import { Tensor, relocate } from '../tensor/tensor.js';
import { backendFor } from '../tensor/device.js';
import { concat, slice, stack } from '../ops/layout.js';
import { reshape } from '../ops/reshape.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { embedding } from '../ops/embedding.js';
import { recurrence, type RnnCellKind } from '../ops/rnn.js';
import { Module, parameter } from './module.js';

function positiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TensorboltError(op, `${name} must be a positive integer, got ${fmtValue(v)}`);
  return v;
}

/** PyTorch options this port lacks: refused when set, rather than silently making another model. */
function refuseUnsupported(op: string, opts: object, names: Record<string, string>): void {
  for (const [k, why] of Object.entries(names)) {
    const v = (opts as Record<string, unknown>)[k];
    if (v !== undefined && v !== null && v !== false && v !== 0) throw new TensorboltError(op, `${k} is not supported (${why}), got ${fmtValue(v)}`);
  }
}

/**
 * A lookup table of numEmbeddings vectors of size embeddingDim, initialized N(0, 1). PyTorch's
 * maxNorm, scaleGradByFreq and sparse are not supported (refused when set).
 */
export class Embedding extends Module {
  weight: Tensor;
  readonly paddingIdx: number | null;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { paddingIdx?: number } = {}) {
    super();
    checkOptions('Embedding', opts);
    refuseUnsupported('Embedding', opts, { maxNorm: 'rows are never renormalized', scaleGradByFreq: 'gradients are plain sums', sparse: 'gradients are dense' });
    positiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    positiveInt('Embedding', 'embeddingDim', embeddingDim);
    const p = opts.paddingIdx;
    if (p !== undefined && (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings))
      throw new TensorboltError('Embedding', `paddingIdx must be an integer in [${-numEmbeddings}, ${numEmbeddings}), got ${fmtValue(p)}`);
    this.paddingIdx = p === undefined ? null : p < 0 ? p + numEmbeddings : p;
    // Drawn on the host (the padding row zeroed there), then put on the default device.
    const w = randn([numEmbeddings, embeddingDim], 0, 1, { device: 'cpu' });
    if (this.paddingIdx !== null) w.host('Embedding').fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    relocate(w, backendFor('Embedding'), 'Embedding');
    this.weight = parameter(w);
  }
  /** int32 indices of any shape -> indices.shape + [embeddingDim]. */
  forward(indices: Tensor): Tensor {
    return embedding(this.weight, indices, { paddingIdx: this.paddingIdx, name: 'Embedding.forward' });
  }
}

/**
 * Options of nn.RNN, nn.LSTM and nn.GRU. Not supported: variable-length (packed) sequences, every
 * sequence of a batch has the same length; LSTM's projSize (refused when set).
 */
export interface RNNOptions {
  numLayers?: number;
  /** Biases bias_ih and bias_hh (default true). */
  bias?: boolean;
  /** Inputs and outputs (batch, time, features) instead of (time, batch, features). */
  batchFirst?: boolean;
  /** Dropout on each layer's output but the last's, in training. */
  dropout?: number;
  bidirectional?: boolean;
}

const GATES: Record<RnnCellKind, number> = { rnn: 1, lstm: 4, gru: 3 };

abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly useBias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  protected abstract readonly cell: RnnCellKind;
  protected readonly op: string;

  constructor(readonly inputSize: number, readonly hiddenSize: number, opts: RNNOptions, protected readonly mode: string,
              protected readonly nonlinearity: 'tanh' | 'relu' = 'tanh') {
    super();
    this.op = mode;
    checkOptions(mode, opts);
    refuseUnsupported(mode, opts, { projSize: 'no projection of h' });
    positiveInt(mode, 'inputSize', inputSize);
    positiveInt(mode, 'hiddenSize', hiddenSize);
    this.numLayers = positiveInt(mode, 'numLayers', opts.numLayers ?? 1);
    this.useBias = opts.bias !== false;
    this.batchFirst = opts.batchFirst === true;
    this.bidirectional = opts.bidirectional === true;
    const p = opts.dropout ?? 0;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new TensorboltError(mode, `dropout must be in [0, 1), got ${fmtValue(p)}`);
    this.dropout = p;
  }

  /** Creates the parameters in PyTorch's order (called by the subclass once `cell` is set). */
  protected init(): void {
    const G = GATES[this.cell], H = this.hiddenSize, bound = 1 / Math.sqrt(H);
    const u = (shape: number[]) => parameter(rand(shape, -bound, bound));
    const self = this as unknown as Record<string, Tensor>;
    for (let l = 0; l < this.numLayers; l++)
      for (const sfx of this.bidirectional ? ['', '_reverse'] : ['']) {
        const inF = l === 0 ? this.inputSize : H * this.directions;
        self[`weight_ih_l${l}${sfx}`] = u([G * H, inF]);
        self[`weight_hh_l${l}${sfx}`] = u([G * H, H]);
        if (this.useBias) {
          self[`bias_ih_l${l}${sfx}`] = u([G * H]);
          self[`bias_hh_l${l}${sfx}`] = u([G * H]);
        }
      }
  }

  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  private param(name: string): Tensor | null {
    return (this as unknown as Record<string, Tensor | undefined>)[name] ?? null;
  }

  /** State k of (layers·directions, batch, hidden) as (batch, hidden). */
  private stateAt(s: Tensor | null, k: number, B: number): Tensor | null {
    if (!s) return null;
    return reshape(slice(s, [k, 0, 0], [1, B, this.hiddenSize]), [B, this.hiddenSize]);
  }

  private checkState(s: unknown, name: string, B: number, unbatched: boolean): Tensor | null {
    if (s === undefined || s === null) return null;
    if (Array.isArray(s) && this.cell !== 'lstm')
      throw new TensorboltError(`${this.op}.forward`, `${name} must be one Tensor (numLayers·directions, batch, hidden): only an LSTM takes [h0, c0], got an array of ${s.length}`);
    const want = unbatched ? [this.numLayers * this.directions, this.hiddenSize] : [this.numLayers * this.directions, B, this.hiddenSize];
    if (!(s instanceof Tensor) || s.shape.join(',') !== want.join(','))
      throw new TensorboltError(`${this.op}.forward`, `${name} must have shape ${fmtShape(want)} (numLayers·directions, ${unbatched ? '' : 'batch, '}hidden), got ${s instanceof Tensor ? fmtShape(s.shape) : fmtValue(s)}`);
    return unbatched ? reshape(s, [want[0]!, 1, this.hiddenSize]) : s;
  }

  /** @internal Every layer and direction; states (layers·directions, batch, hidden). */
  protected runStack(x: Tensor, h0in: unknown, c0in: unknown): { output: Tensor; h: Tensor; c: Tensor | null } {
    const op = `${this.op}.forward`;
    if (!(x instanceof Tensor)) throw new TensorboltError(op, `input must be a Tensor, got ${fmtValue(x)}`);
    const unbatched = x.rank === 2;
    if (x.rank !== 3 && !unbatched)
      throw new TensorboltError(op, `expected input of rank 3 ${this.batchFirst ? '(batch, time, features)' : '(time, batch, features)'} or 2 (time, features), got ${fmtShape(x.shape)}`);
    if (x.shape[x.rank - 1] !== this.inputSize)
      throw new TensorboltError(op, `input ${fmtShape(x.shape)} has ${x.shape[x.rank - 1]} features, expected inputSize ${this.inputSize}`);
    let h = unbatched ? reshape(x, this.batchFirst ? [1, ...x.shape] : [x.shape[0]!, 1, x.shape[1]!]) : x;
    const B = h.shape[this.batchFirst ? 0 : 1]!;
    const h0 = this.checkState(h0in, 'h0', B, unbatched);
    const c0 = this.checkState(c0in, 'c0', B, unbatched);
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < this.directions; d++) {
        const sfx = `_l${l}${d ? '_reverse' : ''}`;
        const k = l * this.directions + d;
        const r = recurrence(h, {
          kernel: this.param(`weight_ih${sfx}`)!, recurrentKernel: this.param(`weight_hh${sfx}`)!,
          bias: this.param(`bias_ih${sfx}`), recurrentBias: this.param(`bias_hh${sfx}`),
        }, {
          cell: this.cell, batchFirst: this.batchFirst, reverse: d === 1, weightLayout: 'torch', gateOrder: 'torch',
          activation: this.nonlinearity, recurrentActivation: 'sigmoid', resetAfter: true,
          h0: this.stateAt(h0, k, B), c0: this.stateAt(c0, k, B), name: op,
        });
        outs.push(r.output);
        hs.push(r.h);
        if (r.c) cs.push(r.c);
      }
      h = outs.length === 1 ? outs[0]! : concat(outs, 2);
      if (this.training && this.dropout > 0 && l < this.numLayers - 1) h = dropoutOp(h, this.dropout);
    }
    const hN = stack(hs, 0);
    const cN = cs.length ? stack(cs, 0) : null;
    if (!unbatched) return { output: h, h: hN, c: cN };
    const L = this.numLayers * this.directions;
    return {
      output: reshape(h, [h.shape[this.batchFirst ? 1 : 0]!, h.shape[2]!]),
      h: reshape(hN, [L, this.hiddenSize]),
      c: cN ? reshape(cN, [L, this.hiddenSize]) : null,
    };
  }
}

/** Elman RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu). forward(x, h0?) -> [output, h_n]. */
export class RNN extends RNNBase {
  protected readonly cell = 'rnn' as const;
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    checkOptions('RNN', opts);
    const nl = opts?.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new TensorboltError('RNN', `nonlinearity must be 'tanh' or 'relu', got ${fmtValue(nl)}`);
    const { nonlinearity: _, ...rest } = opts ?? {};
    super(inputSize, hiddenSize, rest, 'RNN', nl);
    this.init();
  }
  forward(x: Tensor, h0?: Tensor | null): [Tensor, Tensor] {
    const r = this.runStack(x, h0, null);
    return [r.output, r.h];
  }
}

/** LSTM (gates i, f, g, o). forward(x, [h0, c0]?) -> [output, [h_n, c_n]]. */
export class LSTM extends RNNBase {
  protected readonly cell = 'lstm' as const;
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    super(inputSize, hiddenSize, opts, 'LSTM');
    this.init();
  }
  forward(x: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    if (hx !== undefined && hx !== null && !(Array.isArray(hx) && hx.length === 2))
      throw new TensorboltError('LSTM.forward', `hx must be [h0, c0], got ${fmtValue(hx)}`);
    const r = this.runStack(x, hx?.[0], hx?.[1]);
    return [r.output, [r.h, r.c!]];
  }
}

/** GRU (gates r, z, n; n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))). forward(x, h0?) -> [output, h_n]. */
export class GRU extends RNNBase {
  protected readonly cell = 'gru' as const;
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    super(inputSize, hiddenSize, opts, 'GRU');
    this.init();
  }
  forward(x: Tensor, h0?: Tensor | null): [Tensor, Tensor] {
    const r = this.runStack(x, h0, null);
    return [r.output, r.h];
  }
}
