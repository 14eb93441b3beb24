// Keras-style fit of a small model compiled for 'cuda', data-parallel over the world the worker
// started, against one CPU process fitting the same data alone (2 epochs of 2 global batches of 8,
// unshuffled, so both take the same batches). Shared by the device workers (MPI host buckets, NCCL
// device buckets). Returns the largest weight difference on rank 0 (null elsewhere) and the weights.
export async function fitOnCuda(tb, rank) {
  const rng = new tb.Random(77);
  const n = 16;
  const x = tb.tensor(Float32Array.from({ length: n * 6 }, () => rng.normal()), [n, 6]);
  const y = tb.toCategorical(tb.tensor(Int32Array.from({ length: n }, (_, i) => i % 3), [n], 'int32'), 3);
  const build = (device) => {
    tb.setSeed(11);
    const m = tb.sequential([tb.layers.dense({ units: 5, activation: 'relu', inputShape: [6] }), tb.layers.dense({ units: 3, activation: 'softmax' })]);
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', device });
    return m;
  };
  const opts = { batchSize: 8, epochs: 2, shuffle: false, verbose: 0 };
  const model = build('cuda');
  await model.fit(x, y, { ...opts, distributed: true });
  const weights = model.parameters().flatMap((p) => Array.from(p.dataSync()));
  let diff = null;
  if (rank === 0) {
    const ref = build('cpu');
    await ref.fit(x, y, { ...opts, distributed: false });
    const other = ref.parameters().flatMap((p) => Array.from(p.dataSync()));
    diff = Math.max(...weights.map((v, i) => Math.abs(v - other[i])));
  }
  return { diff, weights };
}
