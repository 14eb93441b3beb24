// A recurrent layer (SimpleRNN, LSTM or GRU cell), one direction, over a whole sequence, as one op:
// forward through every step in one kernel call (rnnForward: native/cpu/rnn.cc, native/cuda/rnn.cu),
// backward through time in one, on the inputs' device.
// Keras's and PyTorch's layers (lib/nn) build stacks, directions and dropout from it.
//
// The op has three outputs (the sequence, the last h, the last c). The tape records one node per
// tensor, so the native backward hangs off a hidden zero-size tensor (the anchor) whose inputs are
// the op's inputs; each output is recorded as a node of the anchor that only hands its gradient
// over (sharing its memory, no copy). The tape runs the anchor's node after every output's node,
// so the native backward sees all the gradients at once.
import { rnnWorkspaceSizes, type F32Buf } from '../native/backend.js';
import { needsGrad, record } from '../tensor/autograd.js';
import { checkOpOutput } from '../tensor/debug.js';
import { engine } from '../tensor/engine.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, empty, view } from '../tensor/tensor.js';
import { backendOfAll, requireFloat, tensorArg } from './util.js';

export type RnnCellKind = 'rnn' | 'lstm' | 'gru';
export type RecurrentActivation = 'tanh' | 'sigmoid' | 'hardSigmoid' | 'relu' | 'linear';

// Codes of native/common/rnn.h.
const CELL: Record<RnnCellKind, number> = { rnn: 0, lstm: 1, gru: 2 };
const ACT: Record<RecurrentActivation, number> = { tanh: 0, sigmoid: 1, hardSigmoid: 2, relu: 3, linear: 4 };
const GATES: Record<RnnCellKind, number> = { rnn: 1, lstm: 4, gru: 3 };

export interface RecurrenceWeights {
  /** (features, G·units) in the 'keras' layout, (G·units, features) in the 'torch' layout. */
  kernel: Tensor;
  /** (units, G·units), or (G·units, units) in the 'torch' layout. */
  recurrentKernel: Tensor;
  /**
   * (G·units); or (2, G·units): the input and the recurrent bias stacked (Keras's reset-after GRU).
   * G = 1 (rnn), 4 (lstm: gates i, f, g, o), 3 (gru: z, r, n in Keras order, r, z, n in PyTorch's).
   */
  bias?: Tensor | null;
  /** PyTorch's bias_hh (G·units). */
  recurrentBias?: Tensor | null;
}

export interface RecurrenceOptions {
  cell: RnnCellKind;
  /** x (batch, time, features) instead of (time, batch, features). Default true. */
  batchFirst?: boolean;
  /** Runs the steps from the last to the first; each output stays at its input's position. */
  reverse?: boolean;
  /** Weight layout: 'keras' (default) or 'torch' (transposed). */
  weightLayout?: 'keras' | 'torch';
  /** The cell's activation (default tanh). */
  activation?: RecurrentActivation;
  /** LSTM and GRU gates' activation (default sigmoid). */
  recurrentActivation?: RecurrentActivation;
  /** GRU: reset gate applied after the recurrent product (PyTorch, Keras 2+ default; default true). */
  resetAfter?: boolean;
  /** GRU gate order: 'keras' z, r, n (default with the keras layout) or 'torch' r, z, n. */
  gateOrder?: 'keras' | 'torch';
  /** Initial h (batch, units); zeros when absent. */
  h0?: Tensor | null;
  /** Initial c (batch, units), LSTM only; zeros when absent. */
  c0?: Tensor | null;
  /** Recurrent dropout: (batch, units), multiplied into the h each step reads. */
  recurrentMask?: Tensor | null;
  /** Names the caller (a layer) in errors. */
  name?: string;
}

export interface RecurrenceResult {
  /** Every step's h: shaped as x with units for features. */
  output: Tensor;
  /** The last step's h (batch, units). */
  h: Tensor;
  /** The last step's c (batch, units), LSTM only. */
  c: Tensor | null;
}

function activationArg(op: string, name: string, v: unknown, dflt: RecurrentActivation): number {
  if (v === undefined) return ACT[dflt];
  if (typeof v !== 'string' || !(v in ACT))
    throw new TensorboltError(op, `${name} must be one of ${Object.keys(ACT).join(', ')}, got ${fmtValue(v)}`);
  return ACT[v as RecurrentActivation];
}

function stateArg(op: string, t: Tensor | null | undefined, name: string, b: number, h: number, x: Tensor): Tensor | null {
  if (t === null || t === undefined) return null;
  tensorArg(op, t, name);
  requireFloat(op, t, name);
  if (t.rank !== 2 || t.shape[0] !== b || t.shape[1] !== h)
    throw new TensorboltError(op, `${name} must have shape [${b},${h}] (batch, units) for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
  return t;
}

/**
 * Runs one recurrent layer over x (batch, time, features), or (time, batch, features) with
 * batchFirst false, and returns every step's h, the last h and (LSTM) the last c. Differentiable
 * with respect to x, the weights, the biases and the initial state.
 */
export function recurrence(x: Tensor, weights: RecurrenceWeights, opts: RecurrenceOptions): RecurrenceResult {
  if (opts === null || typeof opts !== 'object') throw new TensorboltError('recurrence', `options must be an object, got ${fmtValue(opts)}`);
  const op = typeof opts.name === 'string' ? opts.name : typeof opts.cell === 'string' ? opts.cell : 'recurrence';
  if (!(opts.cell in CELL)) throw new TensorboltError(op, `cell must be 'rnn', 'lstm' or 'gru', got ${fmtValue(opts.cell)}`);
  const cell = opts.cell;
  const lstm = cell === 'lstm';
  tensorArg(op, x, 'input');
  requireFloat(op, x, 'input');
  const batchFirst = opts.batchFirst !== false;
  if (x.rank !== 3)
    throw new TensorboltError(op, `expected input of rank 3 ${batchFirst ? '(batch, time, features)' : '(time, batch, features)'}, got ${fmtShape(x.shape)}`);
  if (weights === null || typeof weights !== 'object') throw new TensorboltError(op, `weights must be an object, got ${fmtValue(weights)}`);
  const { kernel, recurrentKernel } = weights;
  tensorArg(op, kernel, 'kernel');
  tensorArg(op, recurrentKernel, 'recurrentKernel');
  requireFloat(op, kernel, 'kernel');
  requireFloat(op, recurrentKernel, 'recurrentKernel');
  const torch = opts.weightLayout === 'torch';
  const G = GATES[cell];
  const [T, B, F] = batchFirst ? [x.shape[1]!, x.shape[0]!, x.shape[2]!] : [x.shape[0]!, x.shape[1]!, x.shape[2]!];
  const rk = recurrentKernel.shape;
  const H = rk.length === 2 ? (torch ? rk[1]! : rk[0]!) : 0;
  const wantRk = torch ? [G * H, H] : [H, G * H];
  if (rk.length !== 2 || H < 1 || rk[0] !== wantRk[0] || rk[1] !== wantRk[1])
    throw new TensorboltError(op, `recurrentKernel must be ${torch ? '(G·units, units)' : '(units, G·units)'} with G = ${G} gates for a ${cell} cell, got ${fmtShape(rk)}`);
  const wantK = torch ? [G * H, F] : [F, G * H];
  if (kernel.rank !== 2 || kernel.shape[0] !== wantK[0] || kernel.shape[1] !== wantK[1])
    throw new TensorboltError(op, `kernel must have shape ${fmtShape(wantK)} for input ${fmtShape(x.shape)} (${F} features) and ${H} units, got ${fmtShape(kernel.shape)}`);
  const bias = weights.bias ?? null;
  const recBias = weights.recurrentBias ?? null;
  let stacked = false;
  if (bias) {
    tensorArg(op, bias, 'bias');
    requireFloat(op, bias, 'bias');
    stacked = bias.rank === 2 && bias.shape[0] === 2 && bias.shape[1] === G * H && recBias === null;
    if (!stacked && !(bias.rank === 1 && bias.shape[0] === G * H))
      throw new TensorboltError(op, `bias must have shape [${G * H}]${cell === 'gru' ? ` or [2,${G * H}]` : ''} for ${H} units, got ${fmtShape(bias.shape)}`);
  }
  if (recBias) {
    tensorArg(op, recBias, 'recurrentBias');
    requireFloat(op, recBias, 'recurrentBias');
    if (recBias.rank !== 1 || recBias.shape[0] !== G * H)
      throw new TensorboltError(op, `recurrentBias must have shape [${G * H}] for ${H} units, got ${fmtShape(recBias.shape)}`);
  }
  const h0 = stateArg(op, opts.h0, 'initial state h', B, H, x);
  if (!lstm && opts.c0 !== undefined && opts.c0 !== null)
    throw new TensorboltError(op, `only an LSTM has a cell state; got c0 ${opts.c0 instanceof Tensor ? fmtShape(opts.c0.shape) : fmtValue(opts.c0)} for a ${cell} cell`);
  const c0 = stateArg(op, opts.c0, 'initial state c', B, H, x);
  const rmask = stateArg(op, opts.recurrentMask, 'recurrentMask', B, H, x);
  const resetAfter = opts.resetAfter !== false;
  const kerasGru = (opts.gateOrder ?? (torch ? 'torch' : 'keras')) === 'keras';
  const dims = Int32Array.of(T, B, F, H, CELL[cell], batchFirst ? 1 : 0, opts.reverse ? 1 : 0, torch ? 1 : 0,
    activationArg(op, 'activation', opts.activation, 'tanh'), activationArg(op, 'recurrentActivation', opts.recurrentActivation, 'sigmoid'),
    resetAfter ? 1 : 0, kerasGru ? 1 : 0);
  const inputs = [x, kernel, recurrentKernel, bias, recBias, h0, c0].filter((t): t is Tensor => t !== null);
  const be = backendOfAll(op, rmask ? [...inputs, rmask] : inputs);
  const GH = G * H;
  // Keras's stacked (2, G·H) bias is the input and the recurrent bias: two views of its rows (of a
  // parameter, which outlives them).
  const row = (b: F32Buf, i: number) => be.view(b, i * GH, GH) as F32Buf;
  const bx = bias ? (stacked ? row(bias.f32(op), 0) : bias.f32(op)) : null;
  const bh = stacked ? row(bias!.f32(op), 1) : recBias ? recBias.f32(op) : null;
  const f = (t: Tensor | null) => (t ? t.f32(op) : null);

  const [wsLen, scratchLen] = rnnWorkspaceSizes(dims);
  const output = empty(be, batchFirst ? [B, T, H] : [T, B, H]);
  const h = empty(be, [B, H]);
  const c = lstm ? empty(be, [B, H]) : null;
  // The saved activations (gates, the h each step read, c): pooled by the device's allocator, so a
  // training loop reuses the same memory step after step.
  const ws = empty(be, [wsLen]);
  try {
    be.rnnForward(x.f32(op), kernel.f32(op), recurrentKernel.f32(op), bx, bh, f(h0), f(c0), f(rmask), output.f32(op),
      h.f32(op), f(c), ws.f32(op), dims);
  } catch (e) {
    for (const t of [output, h, c, ws]) t?.dispose();
    throw e;
  }

  // Debug mode: record() below sees the outputs with the hidden anchor as their only input, so it
  // could not tell whether a NaN came in with x, a weight or the initial state; check them here.
  if (engine.debug) {
    try {
      for (const t of [output, h, c]) if (t) checkOpOutput(op, t, rmask ? [...inputs, rmask] : inputs, []);
    } catch (e) {
      for (const t of [output, h, c, ws]) t?.dispose();
      throw e;
    }
  }
  if (!needsGrad(...inputs)) {
    ws.dispose();
    return { output, h, c };
  }
  // The outputs' gradients, handed over by their nodes (null: that output was not used).
  const got: { dy: Tensor | null; dh: Tensor | null; dc: Tensor | null } = { dy: null, dh: null, dc: null };
  const anchor = record(op, empty(be, [0]), inputs, () => {
    const grad = (t: Tensor | null) => (t && t.requiresGrad ? empty(be, t.shape) : null);
    const dx = grad(x), dwx = grad(kernel), dwh = grad(recurrentKernel), db = grad(bias), dbh2 = grad(recBias);
    const dh0 = grad(h0), dc0 = grad(c0);
    // A stacked bias's two gradients are written apart, then copied into its rows (a view handed to
    // the kernel would keep the gradient's device memory until collected).
    const dbRows = db && stacked ? [empty(be, [GH]), empty(be, [GH])] : null;
    const scratch = empty(be, [scratchLen]);
    try {
      be.rnnBackward(x.f32(op), kernel.f32(op), recurrentKernel.f32(op), f(c0), f(rmask), ws.f32(op), f(got.dy), f(got.dh),
        f(got.dc), f(dx), f(dwx), f(dwh), dbRows ? dbRows[0]!.f32(op) : f(db), dbRows ? dbRows[1]!.f32(op) : f(dbh2),
        f(dh0), f(dc0), scratch.f32(op), dims);
      dbRows?.forEach((r, i) => be.copy(r.f32(op), 0, db!.f32(op), i * GH, GH));
    } catch (e) {
      for (const t of [dx, dwx, dwh, db, dbh2, dh0, dc0]) t?.dispose();
      throw e;
    } finally {
      scratch.dispose();
      dbRows?.forEach((r) => r.dispose());
      for (const k of ['dy', 'dh', 'dc'] as const) {
        got[k]?.dispose();
        got[k] = null;
      }
    }
    const all = [dx, dwx, dwh, bias ? db : undefined, recBias ? dbh2 : undefined, h0 ? dh0 : undefined, c0 ? dc0 : undefined];
    return all.filter((g) => g !== undefined) as (Tensor | null)[];
  }, [ws]);
  const handOver = (t: Tensor, key: 'dy' | 'dh' | 'dc'): Tensor =>
    record(op, t, [anchor], (dy) => {
      got[key]?.dispose();
      got[key] = view(dy, dy.shape);  // shares dy's memory: the tape frees dy, the view keeps it
      return [empty(be, [0])];
    });
  return { output: handOver(output, 'dy'), h: handOver(h, 'dh'), c: c ? handOver(c, 'dc') : null };
}
