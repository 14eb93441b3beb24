// DDP over a recurrent module: Embedding -> 2-layer bidirectional LSTM (batch first) -> Linear, each
// rank one backward pass on its own slice of a fixed global batch. The gradient hooks must fire for
// every recurrent weight, so every rank ends with the same .grad, equal to the gradient of one process
// over the whole global batch (the per-rank losses are means over equal slices). Rank 0 computes
// that reference with a fresh copy of rank 0's model. One JSON line per rank.
import * as tb from '../../../dist/lib/index.js';

const B = 3, T = 5, VOCAB = 11, EMB = 6, HIDDEN = 7;
const world = tb.distributed.init();
const { rank, size } = world;

class Tagger extends tb.nn.Module {
  constructor() {
    super();
    this.emb = new tb.nn.Embedding(VOCAB, EMB);
    this.lstm = new tb.nn.LSTM(EMB, HIDDEN, { numLayers: 2, bidirectional: true, batchFirst: true });
    this.out = new tb.nn.Linear(2 * HIDDEN, 4);
  }
  forward(ids) {
    const [seq] = this.lstm.forward(this.emb.forward(ids));
    // the last step's features: (batch, 2·hidden)
    const last = tb.slice(seq, [0, T - 1, 0], [ids.shape[0], 1, 2 * HIDDEN]).reshape([ids.shape[0], 2 * HIDDEN]);
    return this.out.forward(last);
  }
}

// The global batch, the same on every rank.
const rng = new tb.Random(3);
const N = B * size;
const ids = Int32Array.from({ length: N * T }, () => Math.floor(rng.uniform() * VOCAB));
const labels = Int32Array.from({ length: N }, () => Math.floor(rng.uniform() * 4));

function lossOf(net, from, n) {
  const x = tb.tensor(ids.slice(from * T, (from + n) * T), [n, T], 'int32');
  const y = tb.tensor(labels.slice(from, from + n), [n], 'int32');
  return tb.nn.functional.crossEntropy(net.forward(x), y);
}
const grads = (net) => Object.fromEntries(net.namedParameters().map(([k, p]) => [k, p.grad ? Array.from(p.grad.dataSync()) : null]));

// Ranks start from different weights: DDP copies rank 0's.
tb.setSeed(rank === 0 ? 7 : 50 + rank);
const net = new Tagger();
const ddp = new tb.nn.DistributedDataParallel(net);
const hooked = net.namedParameters().filter(([, p]) => (p._gradHooks?.length ?? 0) > 0).map(([k]) => k);
lossOf(ddp, rank * B, B).backward();
const mine = grads(net);

let diff = null;
if (rank === 0) {
  tb.setSeed(7);
  const ref = new Tagger();
  lossOf(ref, 0, N).backward();
  const want = grads(ref);
  let maxDiff = 0, maxAbs = 0;
  for (const [k, g] of Object.entries(want)) {
    for (let i = 0; i < g.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(g[i] - mine[k][i]));
      maxAbs = Math.max(maxAbs, Math.abs(g[i]));
    }
  }
  diff = { maxDiff, maxAbs };
}
// a hash of the gradients' bits, not the arrays: mpirun may cut long lines of two ranks into each other
function hash(a) {
  let h = 2166136261;
  for (const v of new Uint32Array(Float32Array.from(a).buffer)) h = Math.imul(h ^ v, 16777619) >>> 0;
  return h.toString(16);
}
const names = Object.keys(mine);
const missing = names.filter((k) => mine[k] === null);
console.log(JSON.stringify({ rank, size, names, hooked, missing, gradHash: hash(names.flatMap((k) => mine[k] ?? [])), diff }));
