// fit over the caller's own memory (tb.tensor(theirArray)) while the caller transfers that memory
// away from a callback. The worker-thread pool is held busy (reads on FIFOs that only this script
// writes) from before fit could queue the next batch's gather until after the transfer and a full
// GC, so a gather handed that memory would run on freed memory every time, not by luck.
// Prints "RESULT <outcome>"; a use-after-free shows as a signal (or an ASan report).
//   node --expose-gc detach-during-fit.mjs <library bundle> <scratch folder>
import { closeSync, constants, openSync, read, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const [libPath, dir] = process.argv.slice(2);
const tb = await import(libPath);
const pool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
const fds = [];
for (let i = 0; i < pool; i++) {
  const p = join(dir, `fifo-${i}`);
  execFileSync('mkfifo', [p]);
  fds.push(openSync(p, constants.O_RDWR)); // read-write: opening does not wait for a writer
}
const n = 2048, d = 4096; // 512-row batches of 8 MB: fit would gather them ahead on the pool
const mem = new Float32Array(n * d).fill(0.5);
const x = tb.tensor(mem, [n, d]);
const y = tb.toCategorical(Int32Array.from({ length: n }, (_, i) => i % 2), 2);
const model = tb.sequential([tb.layers.dense({ units: 2, activation: 'softmax', inputShape: [d] })]);
model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
const callbacks = {
  // every pool thread now blocks in a read, so anything queued meanwhile waits
  onBatchBegin: (b) => { if (b === 0) for (const fd of fds) read(fd, Buffer.alloc(1), 0, 1, null, () => {}); },
  onBatchEnd: (b) => {
    if (b !== 0) return;
    structuredClone(mem.buffer, { transfer: [mem.buffer] }); // the clone is dropped: its memory is garbage
    globalThis.gc();
    for (const fd of fds) writeSync(fd, Buffer.from('x')); // let the pool run again
  },
};
try {
  await model.fit(x, y, { batchSize: 512, epochs: 1, verbose: 0, callbacks });
  console.log('RESULT finished');
} catch (e) {
  console.log(`RESULT ${e.name}: ${e.message}`);
}
for (const fd of fds) closeSync(fd);
