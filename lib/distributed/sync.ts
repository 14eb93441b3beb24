// Getting every rank onto the same model before training: the same parameter shapes (checked, with
// the first mismatch named), then rank 0's values everywhere (one broadcast of all of them). Both
// block until done: they run once, at DDP construction or at the start of fit.
import type { HostArray } from '../native/backend.js';
import type { DistBinding } from '../native/dist_binding.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { waitAllSync } from './collectives.js';

type Described = [name: string, shape: number[], dtype: string];

/** Throws on every rank, naming the first difference, unless all ranks hold the same shapes. */
export function checkSameShapes(op: string, d: DistBinding, rank: number, size: number, named: [string, Tensor][]): void {
  const mine: Described[] = named.map(([n, t]) => [n, t.shape.slice(), t.dtype]);
  const bytes = new TextEncoder().encode(JSON.stringify(mine));
  const lens = d.alloc(size, 'int32');
  const len = d.alloc(1, 'int32');
  len[0] = bytes.length;
  waitAllSync(op, d, [d.allGather(len, lens, 'parameter check (lengths)')]);
  const max = Math.max(...lens);
  const send = d.alloc(max, 'int32');
  send.set(bytes);
  const recv = d.alloc(max * size, 'int32');
  waitAllSync(op, d, [d.allGather(send, recv, 'parameter check (shapes)')]);
  const all: Described[][] = [];
  for (let r = 0; r < size; r++) {
    const b = Uint8Array.from(recv.subarray(r * max, r * max + lens[r]!));
    all.push(JSON.parse(new TextDecoder().decode(b)) as Described[]);
  }
  const ref = all[0]!;
  for (let r = 1; r < size; r++) {
    const other = all[r]!;
    for (let i = 0; i < Math.min(ref.length, other.length); i++) {
      const [n0, s0, t0] = ref[i]!;
      const [n1, s1, t1] = other[i]!;
      if (s0.join(',') !== s1.join(',') || t0 !== t1)
        throw new TensorboltError(op, `the ranks' models differ: parameter ${i} is '${n0}' ${t0} ${fmtShape(s0)} on rank 0 but '${n1}' ${t1} ${fmtShape(s1)} on rank ${r}` +
          (r === rank || rank === 0 ? '' : ` (this is rank ${rank})`));
    }
    if (ref.length !== other.length)
      throw new TensorboltError(op, `the ranks' models differ: rank 0 has ${ref.length} parameters, rank ${r} has ${other.length} (the first ${Math.min(ref.length, other.length)} match)`);
  }
}

/**
 * Copies rank 0's values of every (float32) tensor into the same tensors on every rank, through one
 * native array (`flat`, of their total size, when the caller keeps one for repeated calls).
 */
export function broadcastFromRoot(op: string, d: DistBinding, tensors: Tensor[], flat?: Float32Array): void {
  const total = tensors.reduce((s, t) => s + t.size, 0);
  flat ??= d.alloc(total, 'float32') as Float32Array;
  let at = 0;
  for (const t of tensors) {
    t._be.download(t.buf(op), flat.subarray(at, at + t.size) as HostArray, 0);
    at += t.size;
  }
  waitAllSync(op, d, [d.broadcast(flat, 0, `broadcast of ${tensors.length} tensors from rank 0`)]);
  at = 0;
  for (const t of tensors) {
    t._be.upload(t.buf(op), flat.subarray(at, at + t.size) as HostArray, 0);
    at += t.size;
  }
}
