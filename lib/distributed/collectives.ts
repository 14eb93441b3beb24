// Collectives on tensors: allReduce (in place), broadcast (in place), allGather, barrier. Each runs
// on the communication thread and resolves when done, so the event loop keeps running meanwhile.
// A tensor's values are copied into native host memory for the collective and back afterwards (a
// tensor's own buffer may be recycled by the pool the moment it is disposed; a device tensor's is
// downloaded and uploaded: MPI carries host memory); the staging arrays are reused. Under
// init({ nccl: true }) a CUDA tensor's own device memory goes to NCCL instead, in place (the job
// holds that memory until it is done). In a world of one process every collective is the identity.
import type { HostArray } from '../native/backend.js';
import type { DeviceBuffer, DistArray, DistBinding } from '../native/dist_binding.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { mpi, ncclReady, size } from './world.js';

export type ReduceOpName = 'sum' | 'mean' | 'max' | 'min';
const OPS: Record<ReduceOpName, 0 | 1 | 2> = { sum: 0, mean: 0, max: 1, min: 2 };

/** @internal A collective's failure as a TensorboltError of op (the binding's own prefix dropped). */
export function distError(op: string, e: unknown): TensorboltError {
  const msg = e instanceof Error ? e.message : String(e);
  return new TensorboltError(op, msg.replace(/^tensorbolt\.dist\.\w+: /, ''));
}

/** @internal Waits, blocking this thread, for every collective queued so far (the synchronous paths). */
export function waitAllSync(op: string, d: DistBinding, started: Promise<void>[] = []): void {
  for (const p of started) p.catch(() => {}); // their failure is the one waitAll throws
  try {
    d.waitAll();
  } catch (e) {
    throw distError(op, e);
  }
}

// Staging arrays by dtype and length, reused (a training loop reducing the same tensors each step
// allocates nothing once warm).
const pool = new Map<string, DistArray[]>();
const POOL_PER_KEY = 4;

function stage(d: DistBinding, t: Tensor, op: string, n = t.size): DistArray {
  const list = pool.get(`${t.dtype}:${n}`);
  const a = list?.pop() ?? d.alloc(n, t.dtype);
  if (n === t.size) t._be.download(t.buf(op), a as HostArray, 0);
  return a;
}

function unstage(t: Tensor, a: DistArray): void {
  const key = `${t.dtype}:${a.length}`;
  let list = pool.get(key);
  if (!list) pool.set(key, (list = []));
  if (list.length < POOL_PER_KEY) list.push(a);
}

function checkTensor(op: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TensorboltError(op, `expects a Tensor, got ${t === null ? 'null' : typeof t}`);
  t.buf(op);
}

/**
 * Whether t's own memory goes to NCCL (a CUDA tensor under init({ nccl: true })): a boolean once
 * NCCL has started, so that the collective is submitted within the call, in call order, as the
 * host ones are; a promise only until then.
 */
function onNccl(op: string, t: Tensor): boolean | Promise<boolean> {
  return t.device === 'cuda' && ncclReady(op);
}

/** A CUDA tensor's memory as the binding takes it (the tensor layer types buffers opaquely). */
const devBuf = (t: Tensor, op: string): DeviceBuffer => t.buf(op) as unknown as DeviceBuffer;

async function runDevice(op: string, submit: () => Promise<void>): Promise<void> {
  let work: Promise<void>;
  try {
    work = submit();
  } catch (e) {
    // a tensor disposed before the collective was submitted: tensor.buf's own error
    if (e instanceof TensorboltError) throw e;
    throw distError(op, e);
  }
  try {
    await work;
  } catch (e) {
    throw distError(op, e);
  }
}

async function run(op: string, t: Tensor, a: DistArray, work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (e) {
    throw distError(op, e);
  }
  if (t.isDisposed) throw new TensorboltError(op, `tensor #${t.id} ${fmtShape(t.shape)} was disposed while the collective ran`);
  t._be.upload(t.buf(op), a as HostArray, 0);
  unstage(t, a);
}

/**
 * Combines t across ranks, in place: every rank ends with the sum (or mean, max, min) of every
 * rank's t. Returns t. 'mean' needs a float32 tensor.
 */
export async function allReduce(t: Tensor, op: ReduceOpName = 'sum'): Promise<Tensor> {
  const name = 'distributed.allReduce';
  checkTensor(name, t);
  // (not `op in OPS`: that converts op to a string, which throws for some objects)
  if (typeof op !== 'string' || !Object.hasOwn(OPS, op)) throw new TensorboltError(name, `op must be 'sum', 'mean', 'max' or 'min', got ${fmtValue(op)}`);
  if (op === 'mean' && t.dtype !== 'float32') throw new TensorboltError(name, `'mean' needs a float32 tensor, got ${t.dtype} ${fmtShape(t.shape)}`);
  const d = mpi(name);
  if (!d) return t;
  const scale = op === 'mean' ? 1 / size() : 1;
  const label = `allReduce (${op}) of ${fmtShape(t.shape)}`;
  const nccl = onNccl(name, t);
  if (nccl === true || (nccl !== false && (await nccl))) {
    await runDevice(name, () => d.allReduce(devBuf(t, name), OPS[op], scale, label));
    return t;
  }
  const a = stage(d, t, name);
  await run(name, t, a, d.allReduce(a, OPS[op], scale, label));
  return t;
}

/** Copies root's t into t on every rank, in place. Returns t. */
export async function broadcast(t: Tensor, root = 0): Promise<Tensor> {
  const name = 'distributed.broadcast';
  checkTensor(name, t);
  const d = mpi(name);
  const n = size();
  if (!Number.isInteger(root) || root < 0 || root >= n) throw new TensorboltError(name, `root must be a rank in [0, ${n}), got ${fmtValue(root)}`);
  if (!d) return t;
  const label = `broadcast of ${fmtShape(t.shape)} from rank ${root}`;
  const nccl = onNccl(name, t);
  if (nccl === true || (nccl !== false && (await nccl))) {
    await runDevice(name, () => d.broadcast(devBuf(t, name), root, label));
    return t;
  }
  const a = stage(d, t, name);
  await run(name, t, a, d.broadcast(a, root, label));
  return t;
}

/** Every rank's t, stacked in rank order: a new tensor of shape [size, ...t.shape]. */
export async function allGather(t: Tensor): Promise<Tensor> {
  const name = 'distributed.allGather';
  checkTensor(name, t);
  const d = mpi(name);
  const n = size();
  const ready = d ? onNccl(name, t) : false;
  const nccl = ready === true || (ready !== false && (await ready));
  const out = empty(t._be, [n, ...t.shape], t.dtype);
  if (!d) {
    t._be.copy(t.buf(name), 0, out.buf(name), 0, t.size);
    return out;
  }
  const label = `allGather of ${fmtShape(t.shape)}`;
  if (nccl) {
    try {
      await runDevice(name, () => d.allGather(devBuf(t, name), devBuf(out, name), label));
    } catch (e) {
      out.dispose();
      throw e;
    }
    return out;
  }
  const send = stage(d, t, name);
  const recv = stage(d, t, name, t.size * n);
  try {
    await run(name, out, recv, d.allGather(send, recv, label));
  } catch (e) {
    out.dispose();
    throw e;
  }
  unstage(t, send);
  return out;
}

/** Resolves once every rank has called barrier(). */
export async function barrier(): Promise<void> {
  const d = mpi('distributed.barrier');
  if (!d) return;
  try {
    await d.barrier('barrier');
  } catch (e) {
    throw distError('distributed.barrier', e);
  }
}
