// A character-level language model, PyTorch style: nn.Embedding -> nn.LSTM -> nn.Linear predicts
// every next character of 64-character chunks of this package's README (one loss over all steps).
// Samples are written by feeding one character at a time and carrying the LSTM's (h, c) state,
// as PyTorch's char-RNN examples do.
// Run: node dist/examples/char-rnn-pytorch.js [--epochs 10] [--steps 100] [--limit 20000] [--length 200]
import * as tb from '../lib/index.js';
import { argInt, corpus, sampleIndex } from './common.js';


const epochs = argInt('epochs', 10);
const stepsPerEpoch = argInt('steps', 100);
const { text, chars, ids } = corpus(argInt('limit', 20000));
const sampleLength = argInt('length', 200);
const T = 64, B = 32, V = chars.length;
tb.setSeed(4);
const rng = new tb.Random(4);

class CharRNN extends tb.nn.Module {
  embed = new tb.nn.Embedding(V, 32);
  lstm = new tb.nn.LSTM(32, 128, { batchFirst: true });
  head = new tb.nn.Linear(128, V);
  forward(x: tb.Tensor, state?: [tb.Tensor, tb.Tensor]): [tb.Tensor, [tb.Tensor, tb.Tensor]] {
    const [h, next] = this.lstm.forward(this.embed.forward(x), state);
    return [this.head.forward(h), next];
  }
}

const net = new CharRNN();
const opt = new tb.optim.Adam(net.parameters(), { lr: 5e-3 });
console.log(`${text.length} characters, ${V} distinct`);

/** B random chunks: inputs ids[s .. s+T), targets ids[s+1 .. s+T+1). */
function batch(): [tb.Tensor, tb.Tensor] {
  const xs = new Int32Array(B * T), ys = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = Math.floor(rng.uniform() * (ids.length - T - 1));
    xs.set(ids.subarray(s, s + T), b * T);
    ys.set(ids.subarray(s + 1, s + T + 1), b * T);
  }
  return [tb.tensor(xs, [B, T], 'int32'), tb.tensor(ys, [B * T], 'int32')];
}

function sample(length: number, temperature: number): string {
  return tb.noGrad(() => {
    let state: [tb.Tensor, tb.Tensor] | undefined;
    let next = ids[Math.floor(rng.uniform() * ids.length)]!;
    let out = chars[next]!;
    for (let i = 0; i < length; i++) {
      const [logits, s] = net.forward(tb.tensor(Int32Array.of(next), [1, 1], 'int32'), state);
      const p = tb.softmax(logits.reshape([V])).dataSync();
      logits.dispose();
      if (state) tb.dispose(state);
      state = s;
      next = sampleIndex(p, temperature, rng);
      out += chars[next];
    }
    if (state) tb.dispose(state);
    return out;
  });
}

for (let epoch = 1; epoch <= epochs; epoch++) {
  net.train();
  let total = 0;
  for (let step = 0; step < stepsPerEpoch; step++) {
    total += tb.tidy(() => {
      const [x, y] = batch();
      opt.zeroGrad();
      const [logits] = net.forward(x);
      const loss = tb.nn.functional.crossEntropy(logits.reshape([B * T, V]), y);
      loss.backward();
      tb.optim.clipGradNorm(net.parameters(), 5);
      opt.step();
      return loss.item();
    });
  }
  net.eval();
  console.log(`epoch ${epoch} loss ${(total / stepsPerEpoch).toFixed(4)}`);
  console.log(`sample: ${JSON.stringify(sample(sampleLength, 0.5))}`);
}
