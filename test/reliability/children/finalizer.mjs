// The FinalizationRegistry backstop, in its own process (node --expose-gc): tensors that are never
// disposed must leave tb.memory() once the garbage collector has reclaimed them, and their memory
// must go back; tensors still referenced must stay counted.
//   node --expose-gc finalizer.mjs <library bundle>
const tb = await import(process.argv[2]);
if (typeof gc !== 'function') throw new Error('run with --expose-gc');
const settle = async () => {
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5)); // cleanup callbacks run as their own tasks
  }
};
await settle();
const base = { ...tb.memory(), arrayBuffers: process.memoryUsage().arrayBuffers };

// Forgotten: 5,000 iterations of two 256 KB tensors (a constant and an op's output), never disposed
// (2.5 GB in all, so the collector has to run while the loop does).
function forget() {
  for (let i = 0; i < 5000; i++) {
    const x = tb.full([65536], i);
    tb.mul(x, 2);
  }
}
const kept = [];
for (let i = 0; i < 100; i++) kept.push(tb.ones([64]));
forget();
const before = { ...tb.memory() };
await settle();
const after = { ...tb.memory(), arrayBuffers: process.memoryUsage().arrayBuffers };
console.log(JSON.stringify({ base, before, after, kept: kept.length, keptBytes: kept.reduce((s, t) => s + t.size * 4, 0), keptAlive: kept.every((t) => !t.isDisposed && t.sum().item() === 64) }));
