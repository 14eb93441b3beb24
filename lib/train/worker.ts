// Training off the main thread. fit() on the main thread serves the event loop only between batches
// (a CNN batch holds it for ~100 ms), so a service that trains answers slowly meanwhile. A worker
// thread loads its own instance of the addon and trains there; these two halves carry fit()'s
// progress back as events and the task's result (or error) as a promise:
//
//   main thread:  const job = tb.trainInWorker(new URL('./train-job.js', import.meta.url), { workerData });
//                 job.on('epochEnd', ({ epoch, logs }) => ...);  const result = await job.result;
//   train-job.js: tb.workerTask(async ({ workerData, callbacks }) => { await model.fit(x, y, { callbacks }); return ...; });
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData as threadData, type WorkerOptions } from 'node:worker_threads';
import { TensorboltError } from '../tensor/errors.js';
import type { Callback, Logs } from './callbacks.js';
import type { Sequential } from './sequential.js';

/** The events a job emits on the main thread, with what each carries. */
export interface TrainingEvents {
  trainBegin: [];
  epochBegin: [{ epoch: number }];
  epochEnd: [{ epoch: number; logs: Logs }];
  batchEnd: [{ batch: number; logs: Logs }];
  trainEnd: [];
  /** Whatever the task passes to post(). */
  message: [unknown];
}

type Message =
  | { kind: 'event'; name: Exclude<keyof TrainingEvents, 'message'>; data?: unknown }
  | { kind: 'message'; data: unknown }
  | { kind: 'result'; value: unknown }
  | { kind: 'error'; name: string; op?: string; message: string; stack?: string };

const TAG = '__tensorboltTraining';

// Typed listeners, declared here rather than through EventEmitter's own generic parameter, which
// @types/node before 20.11 does not have.
export interface TrainingJob<R = unknown> {
  on<K extends keyof TrainingEvents>(event: K, listener: (...args: TrainingEvents[K]) => void): this;
  once<K extends keyof TrainingEvents>(event: K, listener: (...args: TrainingEvents[K]) => void): this;
  off<K extends keyof TrainingEvents>(event: K, listener: (...args: TrainingEvents[K]) => void): this;
}

/** A training task running in a worker thread (see trainInWorker). */
export class TrainingJob<R = unknown> extends EventEmitter {
  readonly worker: Worker;
  /** The task's return value; rejects with the task's error, or when the worker dies without one. */
  readonly result: Promise<R>;

  /** @internal use trainInWorker() */
  constructor(script: string | URL, opts: { workerData?: unknown; workerOptions?: WorkerOptions }) {
    super();
    this.worker = new Worker(script, { ...opts.workerOptions, workerData: { [TAG]: true, data: opts.workerData } });
    this.result = new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (!settled) (settled = true), f();
      };
      this.worker.on('message', (m: Message) => {
        if (m === null || typeof m !== 'object' || !('kind' in m)) return; // the task's own postMessage traffic
        if (m.kind === 'event') this.emit(m.name, ...(m.data === undefined ? [] : [m.data]));
        else if (m.kind === 'message') this.emit('message', m.data);
        else if (m.kind === 'result') settle(() => resolve(m.value as R));
        else if (m.kind === 'error') settle(() => reject(rebuildError(m)));
      });
      this.worker.on('error', (e) => settle(() => reject(e)));
      this.worker.on('exit', (code) =>
        settle(() => reject(new TensorboltError('trainInWorker', `the worker exited with code ${code} before its task returned`))));
    });
    // An unawaited job must not crash the process with an unhandled rejection; awaiting still throws.
    this.result.catch(() => {});
  }

  /**
   * Asks the task to stop training: fit() ends after the current batch (as a callback setting
   * model.stopTraining would), the task goes on to return its result.
   */
  stop(): void {
    this.worker.postMessage({ [TAG]: 'stop' });
  }

  /** Ends the worker at once (result rejects). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

function rebuildError(m: Extract<Message, { kind: 'error' }>): Error {
  const e = m.name === 'TensorboltError' && m.op !== undefined ? new TensorboltError(m.op, m.message.slice(m.op.length + 2)) : new Error(m.message);
  if (m.name !== 'TensorboltError') e.name = m.name;
  if (m.stack) e.stack = `${e.name}: ${e.message}\n    (in the training worker)\n${m.stack.split('\n').slice(1).join('\n')}`;
  return e;
}

/**
 * Starts a worker thread on `script` (a path or file URL of a compiled .js module that calls
 * workerTask) and returns the job: its progress events, its result, stop() and terminate().
 * `workerData` reaches the task (structured-cloned: plain data and typed arrays, not Tensors).
 */
export function trainInWorker<R = unknown>(script: string | URL, opts: { workerData?: unknown; workerOptions?: WorkerOptions } = {}): TrainingJob<R> {
  if (typeof script !== 'string' && !(script instanceof URL))
    throw new TensorboltError('trainInWorker', `script must be a path or a file URL, got ${script === null ? 'null' : typeof script}`);
  if (opts === null || typeof opts !== 'object') throw new TensorboltError('trainInWorker', 'options must be an object');
  // A plain 'train.js' means the file in the working directory, as `node train.js` does (Worker
  // itself only takes absolute paths and ./ or ../ ones).
  let file: string | URL = script;
  if (typeof script === 'string') file = resolvePath(script);
  else if (script.protocol !== 'file:') throw new TensorboltError('trainInWorker', `script must be a path or a file: URL, got a ${script.protocol} URL`);
  // checked here so that the caller sees it now, not as an exit of the worker later
  const path = typeof file === 'string' ? file : fileURLToPath(file);
  if (!existsSync(path)) throw new TensorboltError('trainInWorker', `script ${JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path)} does not exist`);
  try {
    return new TrainingJob<R>(file, opts);
  } catch (e) {
    if (e instanceof TensorboltError) throw e;
    throw new TensorboltError('trainInWorker', `cannot start the worker: ${(e as Error)?.message ?? String(e)}`);
  }
}

/** What a worker task gets. */
export interface WorkerTaskContext {
  /** The workerData given to trainInWorker. */
  workerData: unknown;
  /** Pass to fit({ callbacks }): reports progress to the main thread and honours job.stop(). */
  callbacks: Callback[];
  /** Sends any structured-cloneable value to the main thread's 'message' listeners. */
  post(data: unknown): void;
}

/**
 * The worker side: runs task in this worker thread and sends its return value (or error) to the
 * job on the main thread. Call it once, at the top level of the worker's script.
 */
export function workerTask<R>(task: (ctx: WorkerTaskContext) => R | Promise<R>): void {
  const port = parentPort;
  const data = threadData as { [TAG]?: boolean; data?: unknown } | null;
  if (isMainThread || !port || !data || data[TAG] !== true)
    throw new TensorboltError('workerTask', 'runs in a worker started by trainInWorker(script), not on the main thread or in another worker');
  const send = (m: Message) => port.postMessage(m);
  let model: Sequential | null = null;
  let stopAsked = false;
  const onStop = (m: unknown) => {
    if (m !== null && typeof m === 'object' && (m as Record<string, unknown>)[TAG] === 'stop') {
      stopAsked = true;
      if (model) model.stopTraining = true;
    }
  };
  port.on('message', onStop);
  const progress: Callback = {
    setModel: (m) => { model = m; },
    onTrainBegin: () => {
      if (stopAsked && model) model.stopTraining = true;
      send({ kind: 'event', name: 'trainBegin' });
    },
    onEpochBegin: (epoch) => send({ kind: 'event', name: 'epochBegin', data: { epoch } }),
    onEpochEnd: (epoch, logs = {}) => send({ kind: 'event', name: 'epochEnd', data: { epoch, logs } }),
    onBatchEnd: (batch, logs = {}) => {
      // fit() resets stopTraining when it starts: a stop asked before then is applied here
      if (stopAsked && model) model.stopTraining = true;
      send({ kind: 'event', name: 'batchEnd', data: { batch, logs } });
    },
    onTrainEnd: () => send({ kind: 'event', name: 'trainEnd' }),
  };
  const ctx: WorkerTaskContext = { workerData: data.data, callbacks: [progress], post: (d) => send({ kind: 'message', data: d }) };
  void (async () => {
    try {
      send({ kind: 'result', value: await task(ctx) });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      send({ kind: 'error', name: err.name, op: err instanceof TensorboltError ? err.op : undefined, message: err.message, stack: err.stack });
    } finally {
      // nothing else keeps the worker alive: it exits when the task's own handles are done
      port.off('message', onStop);
      port.unref();
    }
  })();
}
