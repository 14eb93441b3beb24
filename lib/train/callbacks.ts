// fit() callbacks, Keras-style: hooks per epoch and batch, early stopping, NaN guard, History.
import type { Sequential } from './sequential.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { assign } from '../tensor/tensor.js';

export type Logs = Record<string, number>;

export interface Callback {
  setModel?(model: Sequential): void;
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
}

/** What fit() returns: per-epoch logs (loss, metrics, val_*) as in Keras' History, and each epoch's time. */
export class History implements Callback {
  epoch: number[] = [];
  history: Record<string, number[]> = {};
  /** Seconds each epoch took, validation included (wall clock), in the order of `epoch`. */
  epochTime: number[] = [];
  private epochStart = 0;
  onEpochBegin(): void {
    this.epochStart = performance.now();
  }
  onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    this.epochTime.push((performance.now() - this.epochStart) / 1000);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
}

export interface EarlyStoppingArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: 'min' | 'max' | 'auto';
  restoreBestWeights?: boolean;
}

/** Stops training when `monitor` stops improving for `patience` epochs. */
export class EarlyStopping implements Callback {
  private model: Sequential | null = null;
  private best = Infinity;
  private wait = 0;
  private bestWeights: Float32Array[] | null = null;
  stoppedEpoch = -1;
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly sign: number;
  readonly restoreBestWeights: boolean;

  constructor(args: EarlyStoppingArgs = {}) {
    const op = 'EarlyStopping';
    if (args === null || typeof args !== 'object') throw new TensorboltError(op, `expects an options object, got ${args === null ? 'null' : typeof args}`);
    this.monitor = args.monitor ?? 'val_loss';
    this.minDelta = Math.abs(args.minDelta ?? 0);
    this.patience = args.patience ?? 0;
    const mode = args.mode ?? 'auto';
    if (typeof this.monitor !== 'string') throw new TensorboltError(op, `monitor must be a log name such as 'val_loss', got ${fmtValue(this.monitor)}`);
    if (!Number.isFinite(this.minDelta)) throw new TensorboltError(op, `minDelta must be a finite number, got ${fmtValue(args.minDelta)}`);
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new TensorboltError(op, `patience must be a non-negative integer, got ${fmtValue(this.patience)}`);
    if (mode !== 'auto' && mode !== 'min' && mode !== 'max') throw new TensorboltError(op, `mode must be 'auto', 'min' or 'max', got ${fmtValue(mode)}`);
    this.sign = mode === 'max' || (mode === 'auto' && /acc|accuracy|f1|precision|recall/.test(this.monitor)) ? -1 : 1;
    this.restoreBestWeights = !!args.restoreBestWeights;
  }
  setModel(m: Sequential): void {
    this.model = m;
  }
  onTrainBegin(): void {
    this.best = Infinity;
    this.wait = 0;
    this.stoppedEpoch = -1;
  }
  onEpochEnd(epoch: number, logs: Logs = {}): void {
    const v = logs[this.monitor];
    if (v === undefined) return;
    const score = this.sign * v;
    if (score < this.best - this.minDelta) {
      this.best = score;
      this.wait = 0;
      if (this.restoreBestWeights && this.model)
        this.bestWeights = this.model.parameters().map((p) => p.dataSync() as Float32Array);
    } else if (++this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      if (this.model) {
        this.model.stopTraining = true;
        if (this.bestWeights)
          this.model.parameters().forEach((p, i) => assign(p, this.bestWeights![i]!, 'EarlyStopping'));
      }
    }
  }
}

export function earlyStopping(args: EarlyStoppingArgs = {}): EarlyStopping {
  return new EarlyStopping(args);
}

/** Callback from plain functions (tfjs's CustomCallback). */
export function callback(hooks: Callback): Callback {
  if (!hooks || typeof hooks !== 'object') throw new TensorboltError('callback', `expects an object of hooks ({ onEpochEnd, onBatchEnd, ... }), got ${fmtValue(hooks)}`);
  return hooks;
}
