// Gradient averaging in buckets, overlapped with backward (PyTorch DDP's Reducer, Horovod's tensor
// fusion). Parameters are grouped, in reverse order (about the order backward produces their
// gradients), into buckets of about 25 MB (the first 1 MB, so that communication starts early);
// each bucket is one native array. A grad hook copies a parameter's gradient into its bucket as
// soon as backward has accumulated it; a full bucket is all-reduced at once, on the communication
// thread, while backward goes on. Buckets are started strictly in order, so every rank issues the
// same collectives in the same order even if its gradients arrive in another. finish() waits for
// them and gives the averages to the parameters' .grad: a host parameter's .grad becomes a view of
// its slot (PyTorch's gradient_as_bucket_view, which saves a copy each way once .grad is kept
// between steps), a device parameter's is uploaded into. Under init({ nccl: true }) with every
// parameter on 'cuda', the buckets are device memory and NCCL all-reduces them, GPU to GPU; otherwise
// they are native host memory for MPI (device gradients downloaded into them).
import type { DeviceBuffer, DistBinding } from '../native/dist_binding.js';
import { registerGradHook } from '../tensor/autograd.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { keep } from '../tensor/tidy.js';
import { Tensor, empty, wrap } from '../tensor/tensor.js';
import { cpu, type F32Buf, type HostArray } from '../native/backend.js';
import { BinaryOp } from '../native/opcodes.js';
import { distError, waitAllSync } from './collectives.js';
import { ncclRunning, usesNccl } from './world.js';

export interface BucketOptions {
  /** Bucket size in MB (default 25). */
  bucketCapMB?: number;
  /** The first bucket's size in MB (default 1), so that the first all-reduce starts early. */
  firstBucketMB?: number;
}

interface Bucket {
  params: Tensor[];
  offsets: number[];
  /** The bucket in host memory (MPI), or null when it lives on the device (dev). */
  data: Float32Array | null;
  /** The bucket in device memory (NCCL), or null. */
  dev: Tensor | null;
  /** Parameters whose gradient is not in `data` yet this round. */
  missing: Set<Tensor>;
  work: Promise<void> | null;
}

/** Parameter index lists of each bucket: reverse order, greedy, a new bucket when full. */
export function assignBuckets(sizes: readonly number[], capBytes: number, firstBytes: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  for (let i = sizes.length - 1; i >= 0; i--) {
    const limit = out.length === 0 ? firstBytes : capBytes;
    if (cur.length > 0 && bytes + sizes[i]! * 4 > limit) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(i);
    bytes += sizes[i]! * 4;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Whether g's memory is the bucket's slot at `at` (a gradient left a view of it by copyBack). */
function isSlot(g: Tensor, data: Float32Array, at: number): boolean {
  const m = g._buf as unknown;
  return m instanceof Float32Array && m.buffer === data.buffer && m.byteOffset === data.byteOffset + at * 4 && m.length === g.size;
}

/**
 * Whether a reducer over params keeps its buckets on the device for NCCL: under init({ nccl: true })
 * with every parameter on 'cuda'. Then NCCL must have started (the callers' broadcast waited for
 * MPI's queue, where its start was queued at init(), so that is known by now); op names the caller.
 */
export function bucketsOnDevice(op: string, d: DistBinding, params: readonly Tensor[]): boolean {
  const onDevice = usesNccl() && params.length > 0 && params.every((p) => p.device === 'cuda');
  if (onDevice && !ncclRunning(d))
    throw new TensorboltError(op, 'init({ nccl: true }) asked for NCCL, but it did not start on this rank (see the error of the first collective on a CUDA tensor)');
  return onDevice;
}

const ONE = Int32Array.of(1);
const ZERO = Int32Array.of(0);

export class GradReducer {
  readonly buckets: Bucket[];
  private readonly where = new Map<Tensor, Bucket>();
  private readonly offset = new Map<Tensor, number>();
  private readonly removers: (() => void)[] = [];
  private next = 0; // the next bucket to start
  private readonly scalar = new Float32Array(1); // preScale, as the multiply's operand
  private active = false; // a round (one backward) is under way
  /** Each rank's gradients are multiplied by this before they are summed (1/size: the mean). */
  preScale: number;
  /** While false, backward leaves the gradients local (gradient accumulation without communication). */
  enabled = true;

  /** Whether the buckets live on the device and go to NCCL. */
  readonly onDevice: boolean;

  /**
   * onRoundStart runs once per round, from the first grad hook (DDP queues its wait there);
   * it may be null when the caller finishes rounds itself (fit). onDevice: the buckets in device
   * memory for NCCL (the caller checked that NCCL runs and that every parameter is on 'cuda').
   */
  constructor(private readonly d: DistBinding, readonly params: Tensor[], private readonly op: string, opts: BucketOptions,
              preScale: number, private readonly onRoundStart: (() => void) | null, onDevice = false) {
    this.onDevice = onDevice;
    const cap = opts.bucketCapMB ?? 25;
    const first = opts.firstBucketMB ?? 1;
    for (const [k, v] of [['bucketCapMB', cap], ['firstBucketMB', first]] as const)
      if (typeof v !== 'number' || !(v > 0)) throw new TensorboltError(op, `${k} must be a positive number, got ${fmtValue(v)}`);
    this.preScale = preScale;
    this.buckets = assignBuckets(params.map((p) => p.size), cap * 1048576, first * 1048576).map((idx) => {
      const ps = idx.map((i) => params[i]!);
      const offsets: number[] = [];
      let n = 0;
      for (const p of ps) {
        offsets.push(n);
        n += Math.ceil(p.size / 16) * 16; // slots 64-byte aligned: a gradient left a view of its slot is read at full speed
      }
      const dev = onDevice ? keep(empty(ps[0]!._be, [n])) : null;
      const data = dev ? null : (d.alloc(n, 'float32') as Float32Array).fill(0); // the padding between slots stays 0
      return { params: ps, offsets, data, dev, missing: new Set(ps), work: null };
    });
    for (const b of this.buckets) {
      b.params.forEach((p, k) => {
        this.where.set(p, b);
        this.offset.set(p, b.offsets[k]!);
      });
    }
    for (const p of params) this.removers.push(registerGradHook(p, (t) => this.ready(t)));
  }

  /** A parameter's gradient is complete for this round: into its bucket; start what is full. */
  private ready(p: Tensor): void {
    if (!this.enabled) return;
    const b = this.where.get(p)!;
    if (!this.active) {
      this.active = true;
      this.onRoundStart?.();
    }
    if (!b.missing.delete(p)) return; // a second backward in the same round: reduced next round
    this.take(p.grad!, b, this.offset.get(p)!);
    this.startReady();
  }

  /**
   * A gradient into its slot of the bucket: a device copy (NCCL scales while it sums), or for MPI's
   * host bucket multiplied by preScale on the way (one pass instead of a copy and a scaling pass on
   * the communication thread). A device gradient for a host bucket is downloaded, then scaled.
   */
  private take(g: Tensor, b: Bucket, at: number): void {
    if (b.dev) {
      g._be.copy(g.buf(this.op), 0, b.dev.buf(this.op), at, g.size);
      return;
    }
    const slot = b.data!.subarray(at, at + g.size) as unknown as F32Buf;
    const host = cpu();
    if (isSlot(g, b.data!, at)) {
      if (this.preScale !== 1) host.scale(slot, this.preScale);
    } else if (g._be === host && this.preScale !== 1) {
      this.scalar[0] = this.preScale;
      host.binary(BinaryOp.mul, g.f32(this.op), ONE, this.scalar as unknown as F32Buf, ZERO, slot, Int32Array.of(g.size));
    } else {
      g._be.download(g.buf(this.op), slot as unknown as HostArray, 0);
      if (this.preScale !== 1) host.scale(slot, this.preScale);
    }
  }

  /** Zeros into a slot of the bucket. */
  private zero(b: Bucket, at: number, n: number): void {
    if (b.dev) b.dev._be.fill(b.dev._be.view(b.dev.buf(this.op), at, n), 0);
    else b.data!.fill(0, at, at + n);
  }

  private startReady(): void {
    while (this.next < this.buckets.length && this.buckets[this.next]!.missing.size === 0) {
      const i = this.next++;
      const b = this.buckets[i]!;
      const label = `gradient bucket ${i + 1} of ${this.buckets.length}`;
      // a device bucket goes to NCCL (the binding first waits for the kernels that filled it)
      b.work = b.dev
        ? this.d.allReduce(b.dev.buf(this.op) as unknown as DeviceBuffer, 0, this.preScale, label)
        : this.d.allReduce(b.data!, 0, 1, label); // take() scaled the host bucket
      b.work.catch(() => {}); // awaited in finish(); not an unhandled rejection meanwhile
    }
  }

  /**
   * Starts every bucket not started yet: a parameter whose gradient never came this round (unused
   * by this rank's forward, or a rank with no samples) contributes its current .grad, or zeros.
   */
  private flush(): void {
    this.active = true;
    for (const b of this.buckets) {
      for (const p of b.missing) {
        const at = this.offset.get(p)!;
        if (p.grad && !p.grad.isDisposed) this.take(p.grad, b, at);
        else this.zero(b, at, p.size);
      }
      b.missing.clear();
    }
    this.startReady();
  }

  /** Waits, blocking, for this round's buckets and writes the averaged gradients (DDP after backward). */
  finishSync(): void {
    if (!this.active) return;
    this.flush();
    try {
      waitAllSync(this.op, this.d);
    } finally {
      this.reset();
    }
    this.copyBack();
  }

  /** Awaits this round's buckets (the event loop runs meanwhile) and writes the averaged gradients. */
  async finish(): Promise<void> {
    this.flush();
    try {
      for (const b of this.buckets) await b.work;
    } catch (e) {
      throw distError(this.op, e);
    } finally {
      this.reset();
    }
    this.copyBack();
  }

  private reset(): void {
    this.active = false;
    this.next = 0;
    for (const b of this.buckets) {
      b.work = null;
      for (const p of b.params) b.missing.add(p);
    }
  }

  private copyBack(): void {
    const host = cpu();
    for (const b of this.buckets) {
      b.params.forEach((p, k) => {
        const at = b.offsets[k]!;
        const g = p.grad && !p.grad.isDisposed ? p.grad : null;
        if (b.data && p._be === host) {
          if (g && isSlot(g, b.data, at)) return; // the gradient is its slot already: averaged in place
          // The gradient becomes a view of its slot: no copy back. Not owned, so disposing it never
          // hands the bucket to the allocator.
          p.grad = keep(wrap(b.data.subarray(at, at + p.size), p.shape, 'float32', false));
          g?.dispose();
          return;
        }
        const dst = g ?? (p.grad = keep(empty(p._be, p.shape)));
        if (b.dev) b.dev._be.copy(b.dev.buf(this.op), at, dst.buf(this.op), 0, p.size);
        else dst._be.upload(dst.buf(this.op), b.data!.subarray(at, at + p.size) as HostArray, 0);
      });
    }
  }

  /** Removes the grad hooks; device buckets are freed, host ones go with the garbage collector. */
  detach(): void {
    for (const r of this.removers) r();
    this.removers.length = 0;
    for (const b of this.buckets) b.dev?.dispose();
  }
}

