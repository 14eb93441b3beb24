// A character-level language model, Keras style (keras-team's lstm_text_generation, ported):
// Embedding -> LSTM(128) -> Dense(softmax) reads 40 characters of this package's README and
// predicts the next one; after every epoch it writes a sample, one character at a time, from a
// window of the text.
// Run: node dist/examples/char-rnn-keras.js [--epochs 20] [--limit 20000] [--length 200]
import * as tb from '../lib/index.js';
import { argInt, corpus, sampleIndex } from './common.js';


const epochs = argInt('epochs', 20);
const { text, chars, ids } = corpus(argInt('limit', 20000));
const sampleLength = argInt('length', 200);
const T = 40, stride = 3, V = chars.length;
tb.setSeed(3);
const rng = new tb.Random(3);

// Windows of T characters every `stride` characters, each labelled with the character after it.
const starts = Array.from({ length: Math.floor((ids.length - T - 1) / stride) }, (_, k) => k * stride);
const x = tb.tensor(Int32Array.from(starts.flatMap((s) => Array.from(ids.subarray(s, s + T)))), [starts.length, T], 'int32');
const y = tb.tensor(Int32Array.from(starts, (s) => ids[s + T]!), [starts.length], 'int32');
console.log(`${text.length} characters, ${V} distinct, ${starts.length} windows of ${T}`);

const model = tb.sequential([
  tb.layers.embedding({ inputDim: V, outputDim: 32, inputLength: T }),
  tb.layers.lstm({ units: 128 }),
  tb.layers.dense({ units: V, activation: 'softmax' }),
]);
model.compile({ optimizer: new tb.optim.Adam(model.parameters(), { lr: 5e-3 }), loss: 'sparseCategoricalCrossentropy' });

function sample(length: number, temperature: number): string {
  const start = Math.floor(rng.uniform() * (ids.length - T));
  const window = Array.from(ids.subarray(start, start + T));
  let out = '';
  for (let i = 0; i < length; i++) {
    const p = tb.tidy(() => model.predict(tb.tensor(Int32Array.from(window), [1, T], 'int32')).dataSync());
    const next = sampleIndex(p, temperature, rng);
    out += chars[next];
    window.shift();
    window.push(next);
  }
  return out;
}

await model.fit(x, y, {
  batchSize: 128, epochs, verbose: 0,
  callbacks: [tb.callback({
    onEpochEnd: (epoch, logs) => {
      console.log(`epoch ${epoch + 1} loss ${logs!.loss!.toFixed(4)}`);
      console.log(`sample: ${JSON.stringify(sample(sampleLength, 0.5))}`);
    },
  })],
});
