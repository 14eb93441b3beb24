// nn.DistributedDataParallel: PyTorch's DDP for tensorbolt modules. Construction checks that every
// rank built the same parameter shapes and copies rank 0's parameters and buffers to all ranks;
// backward() then averages the gradients across ranks in buckets, overlapped with backward itself
// (reducer.ts), and returns only once the averages are in .grad, so `loss.backward(); opt.step()`
// is unchanged. Every rank must run the same number of backward passes. Under init({ nccl: true })
// with the whole module on 'cuda', the buckets are device memory all-reduced by NCCL.
import { queueBackwardCallback } from '../tensor/autograd.js';
import { TensorboltError } from '../tensor/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { GradReducer, bucketsOnDevice, type BucketOptions } from './reducer.js';
import { broadcastFromRoot, checkSameShapes } from './sync.js';
import { init, mpi, rank, size } from './world.js';

export interface DDPOptions extends BucketOptions {
  /**
   * Copy rank 0's buffers (batch-norm running statistics) to every rank before each forward in
   * training mode, as PyTorch does by default (default true; models without buffers pay nothing).
   */
  broadcastBuffers?: boolean;
}

// Generic over the wrapped module so that forward keeps its signature (a recurrent module returns
// [output, state], most return one Tensor).
export class DistributedDataParallel<M extends Module = Module> extends Module {
  readonly module: M;
  private readonly _reducer: GradReducer | null;
  private readonly _bufferList: Tensor[];
  private _bufferFlat: Float32Array | null = null;
  private readonly _broadcastBuffers: boolean;

  constructor(module: M, opts: DDPOptions = {}) {
    super();
    const op = 'DistributedDataParallel';
    if (!(module instanceof Module)) throw new TensorboltError(op, `expects an nn.Module, got ${module === null ? 'null' : typeof module}`);
    if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, 'options must be an object');
    init();
    this.module = module;
    this._broadcastBuffers = opts.broadcastBuffers ?? true;
    const named = module.namedParameters();
    this._bufferList = module.namedBuffers().map(([, b]) => b).filter((b) => b.dtype === 'float32');
    const d = mpi(op);
    if (d) {
      checkSameShapes(op, d, rank(), size(), [...named, ...module.namedBuffers()]);
      broadcastFromRoot(op, d, [...named.map(([, p]) => p), ...this._bufferList]);
    }
    // A world of one has nothing to average: no hooks, no buckets. Device buckets for NCCL when it
    // runs and every parameter is on the GPU.
    const params = named.map(([, p]) => p);
    this._reducer = d
      ? new GradReducer(d, params, op, opts, 1 / size(), () => queueBackwardCallback(() => this._reducer!.finishSync()), bucketsOnDevice(op, d, params))
      : null;
  }

  forward(...inputs: Parameters<M['forward']>): ReturnType<M['forward']> {
    if (this._reducer && this._broadcastBuffers && this.training && this._bufferList.length > 0) {
      const d = mpi('DistributedDataParallel')!;
      this._bufferFlat ??= d.alloc(this._bufferList.reduce((s, b) => s + b.size, 0), 'float32') as Float32Array;
      broadcastFromRoot('DistributedDataParallel.forward', d, this._bufferList, this._bufferFlat);
    }
    return this.module.forward(...inputs) as ReturnType<M['forward']>;
  }

  /**
   * Runs fn with gradient averaging off: backward passes inside only accumulate local gradients
   * (PyTorch's no_sync); the first backward outside averages the accumulated sum.
   */
  noSync<T>(fn: () => T): T {
    if (!this._reducer) return fn();
    const was = this._reducer.enabled;
    this._reducer.enabled = false;
    try {
      return fn();
    } finally {
      this._reducer.enabled = was;
    }
  }

  /** Removes the gradient hooks; the wrapped module trains alone again. */
  override dispose(): void {
    this._reducer?.detach();
    super.dispose();
  }
}
