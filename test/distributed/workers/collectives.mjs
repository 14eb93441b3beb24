// tb.distributed's collectives on every rank; one JSON line per rank with what each returned.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tb from '../../../dist/lib/index.js';
import { native } from '../../../dist/lib/native/load.js';

const { rank, size, localRank, backend, library } = tb.distributed.init({ timeout: 60 });
const sync = process.env.SYNC_DIR;
// Blocks this thread (not just this task) until the files exist.
function waitForFiles(files) {
  const deadline = Date.now() + 120_000;
  while (!files.every((f) => existsSync(f)) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
}
const out = { rank, size, localRank, backend, library };
// what init() left of Open MPI's single-copy setting (native/dist/mpi_world.cc)
out.singleCopy = process.env.OMPI_MCA_btl_vader_single_copy_mechanism ?? null;

const f = tb.tensor([rank + 1, -(rank + 1), 2 * rank]);
out.sum = Array.from((await tb.distributed.allReduce(f.clone(), 'sum')).dataSync());
out.mean = Array.from((await tb.distributed.allReduce(f.clone(), 'mean')).dataSync());
out.max = Array.from((await tb.distributed.allReduce(f.clone(), 'max')).dataSync());
out.min = Array.from((await tb.distributed.allReduce(f.clone(), 'min')).dataSync());
out.intSum = Array.from((await tb.distributed.allReduce(tb.tensor([rank, 1], [2], 'int32'), 'sum')).dataSync());
const b = tb.tensor([rank, rank * 10]);
await tb.distributed.broadcast(b, size - 1);
out.broadcast = Array.from(b.dataSync());
const g = await tb.distributed.allGather(tb.tensor([[rank, rank + 0.5]]));
out.gatherShape = g.shape;
out.gather = Array.from(g.dataSync());
try {
  await tb.distributed.allReduce(tb.tensor([1], [1], 'int32'), 'mean');
} catch (e) {
  out.intMeanError = e.message;
}

// The event loop runs while a collective waits: every other rank enters a barrier and, from a timer
// that only its event loop can run, leaves a file; rank 0 (its own thread blocked, polling for the
// files) enters the barrier only once all are there, so the barrier cannot have ended before.
if (sync && size > 1) {
  if (rank === 0) {
    waitForFiles(Array.from({ length: size - 1 }, (_, k) => join(sync, `waiting-${k + 1}`)));
    await tb.distributed.barrier();
  } else {
    let ranWhileWaiting = false;
    let done = false;
    const p = tb.distributed.barrier().then(() => (done = true));
    setTimeout(() => {
      ranWhileWaiting = !done;
      writeFileSync(join(sync, `waiting-${rank}`), '');
    }, 20);
    await p;
    out.timerRanDuringBarrier = ranWhileWaiting;
  }
}

// A JS array whose buffer is transferred away while its all-reduce runs: the collective worked on a
// native copy; its result is dropped with an error instead of being written to freed memory. The
// other ranks transfer theirs and leave a file; rank 0 joins only once all files are there, so no
// all-reduce can have finished before its array was transferred.
if (backend === 'mpi' && sync) {
  const js = new Float32Array(1 << 16).fill(1);
  if (rank === 0) {
    waitForFiles(Array.from({ length: size - 1 }, (_, k) => join(sync, `transferred-${k + 1}`)));
    await native().dist.allReduce(js, 0, 1, 'detach test');
  } else {
    const p = native().dist.allReduce(js, 0, 1, 'detach test');
    structuredClone(js.buffer, { transfer: [js.buffer] });
    writeFileSync(join(sync, `transferred-${rank}`), '');
    try {
      await p;
      out.detached = 'resolved';
    } catch (e) {
      out.detached = e.message;
    }
  }
}
// A tensor disposed while its all-reduce runs: an error, and the pool's memory left alone.
const t = tb.randn([1000]);
const q = tb.distributed.allReduce(t);
t.dispose();
try {
  await q;
  out.disposed = 'resolved';
} catch (e) {
  out.disposed = e.message;
}
// Still healthy after all that.
out.after = Array.from((await tb.distributed.allReduce(tb.tensor([1]))).dataSync());
console.log(JSON.stringify(out));
