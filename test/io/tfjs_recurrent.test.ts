// Recurrent models in files, both ways, against the real TensorFlow.js (cpu backend): Embedding,
// SimpleRNN, LSTM, GRU and Bidirectional saved by tensorbolt load in tfjs and predict the same, and
// tfjs's (trained there, with its hard_sigmoid gates) load in tensorbolt and predict the same; the
// weight names Keras's converter writes (with the cell's scope) load too.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, relErr, tempDir, tf, tfjsLoad, tfjsSave, useCpu } from './tfjs_helpers.js';

beforeAll(useCpu);
afterAll(cleanTempDirs);

const TOL = 1e-5;
const T = 7, V = 12;

function tfPredict(m: tf.LayersModel, x: tb.Tensor): Float32Array {
  return tf.tidy(() => (m.predict(tf.tensor(Array.from(x.dataSync()), x.shape.slice(), x.dtype)) as tf.Tensor).dataSync() as Float32Array);
}

describe('tensorbolt -> TensorFlow.js', () => {
  it('a trained Embedding, Bidirectional(LSTM), GRU (reset before), SimpleRNN, Dense model predicts the same in tfjs', async () => {
    tb.setSeed(31);
    const model = tb.sequential([
      tb.layers.embedding({ inputDim: V, outputDim: 5, inputLength: T }),
      tb.layers.bidirectional({ layer: tb.layers.lstm({ units: 4, returnSequences: true }) }),
      tb.layers.gru({ units: 3, returnSequences: true, resetAfter: false, recurrentActivation: 'hardSigmoid' }),
      tb.layers.simpleRNN({ units: 4, goBackwards: true }),
      tb.layers.dense({ units: 3, activation: 'softmax' }),
    ]);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const x = tb.randint(0, V, [48, T]);
    await model.fit(x, tb.randint(0, 3, [48]), { epochs: 2, batchSize: 16, verbose: 0 });
    const dir = tempDir();
    await model.save(`file://${dir}`);
    const m = await tfjsLoad(dir);
    expect(m.layers.map((l) => l.getClassName())).toEqual(['Embedding', 'Bidirectional', 'GRU', 'SimpleRNN', 'Dense']);
    const xt = tb.randint(0, V, [6, T]);
    expect(relErr(model.predict(xt).dataSync(), tfPredict(m, xt))).toBeLessThanOrEqual(TOL);
  });

  it('LSTM variants: hard_sigmoid gates, go_backwards sequences, mergeMode sum, relu activation', async () => {
    tb.setSeed(32);
    const model = tb.sequential([
      tb.layers.lstm({ units: 3, returnSequences: true, goBackwards: true, recurrentActivation: 'hardSigmoid', inputShape: [T, 4] }),
      tb.layers.bidirectional({ layer: tb.layers.lstm({ units: 2, activation: 'relu', returnSequences: true }), mergeMode: 'sum' }),
      tb.layers.flatten(),
    ]);
    const dir = tempDir();
    await model.save(`file://${dir}`);
    const m = await tfjsLoad(dir);
    const xt = tb.randn([5, T, 4]);
    expect(relErr(model.predict(xt).dataSync(), tfPredict(m, xt))).toBeLessThanOrEqual(TOL);
  });
});

describe('TensorFlow.js -> tensorbolt', () => {
  async function tfjsModel(): Promise<tf.LayersModel> {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: V, outputDim: 4, inputLength: T }));
    m.add(tf.layers.lstm({ units: 5, returnSequences: true }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3, returnSequences: true }) as tf.RNN, mergeMode: 'concat' }));
    m.add(tf.layers.simpleRNN({ units: 4 }));
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const x = tf.floor(tf.randomUniform([32, T], 0, V));
    const y = tf.floor(tf.randomUniform([32], 0, 3));
    await m.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
    return m;
  }

  it('a model trained in tfjs loads and predicts the same; the hard_sigmoid gates are read from the file', async () => {
    const dir = tempDir();
    await tfjsSave(await tfjsModel(), dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.modelTopology.config.layers[1].config.recurrent_activation).toBe('hard_sigmoid');
    const model = await tb.loadModel(`file://${dir}/model.json`);
    expect(model.layers.map((l) => l.className)).toEqual(['Embedding', 'LSTM', 'Bidirectional', 'SimpleRNN', 'Dense']);
    expect((model.layers[1] as tb.RecurrentLayer).recurrentActivation).toBe('hardSigmoid');
    const m = await tfjsLoad(dir);
    const xt = tb.randint(0, V, [6, T]);
    expect(relErr(model.predict(xt).dataSync(), tfPredict(m, xt))).toBeLessThanOrEqual(TOL);
  });

  it("Keras-converted weight names (the cell's scope: lstm/lstm_cell/kernel) load", async () => {
    const dir = tempDir();
    const tfModel = await tfjsModel();
    await tfjsSave(tfModel, dir);
    const file = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const cellOf: Record<string, string> = { LSTM: 'lstm_cell', GRU: 'gru_cell_2', SimpleRNN: 'simple_rnn_cell' };
    const kinds = new Map<string, string>();
    for (const l of json.modelTopology.config.layers) {
      if (l.class_name === 'Bidirectional') {
        kinds.set(`${l.config.name}/forward_${l.config.layer.config.name}`, l.config.layer.class_name);
        kinds.set(`${l.config.name}/backward_${l.config.layer.config.name}`, l.config.layer.class_name);
      } else kinds.set(l.config.name, l.class_name);
    }
    for (const w of json.weightsManifest[0].weights) {
      const scope = w.name.slice(0, w.name.lastIndexOf('/'));
      const cell = cellOf[kinds.get(scope) ?? ''];
      if (cell) w.name = `${scope}/${cell}/${w.name.slice(scope.length + 1)}`;
    }
    expect(json.weightsManifest[0].weights[1].name).toMatch(/\/lstm_cell\/kernel$/);
    expect(json.weightsManifest[0].weights[4].name).toMatch(/\/forward_.*\/gru_cell_2\/kernel$/);
    writeFileSync(file, JSON.stringify(json));
    const model = await tb.loadModel(`file://${file}`);
    const xt = tb.randint(0, V, [4, T]);
    expect(relErr(model.predict(xt).dataSync(), tfPredict(tfModel, xt))).toBeLessThanOrEqual(TOL);
  });

  it("a Keras reset_after GRU (bias (2, 3·units)) round-trips through tensorbolt's files", async () => {
    tb.setSeed(33);
    const model = tb.sequential([tb.layers.gru({ units: 3, inputShape: [T, 2], returnSequences: true, name: 'gru' })]);
    model.build();
    tb.noGrad(() => (model.layers[0] as tb.RecurrentLayer).bias!.f32('test').set(tb.randn([2, 9]).dataSync() as Float32Array));
    const dir = tempDir();
    await model.save(`file://${dir}`);
    const file = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.modelTopology.config.layers[0].config.reset_after).toBe(true);
    expect(json.weightsManifest[0].weights.map((w: { shape: number[] }) => w.shape)).toEqual([[2, 9], [3, 9], [2, 9]]);
    for (const w of json.weightsManifest[0].weights) w.name = w.name.replace('gru/', 'gru/gru_cell/');
    writeFileSync(file, JSON.stringify(json));
    const back = await tb.loadModel(`file://${file}`);
    const xt = tb.randn([3, T, 2]);
    expect(Array.from(back.predict(xt).dataSync())).toEqual(Array.from(model.predict(xt).dataSync()));
  });
});

describe('recurrent files tensorbolt cannot represent', () => {
  it('mask_zero, stateful and time_major in a model.json are errors naming the file, the layer and the option', async () => {
    const model = tb.sequential([
      tb.layers.embedding({ inputDim: V, outputDim: 3, inputLength: T, name: 'emb' }),
      tb.layers.lstm({ units: 2, name: 'lstm' }),
    ]);
    model.build();
    const dir = tempDir();
    await model.save(`file://${dir}`);
    const file = join(dir, 'model.json');
    const saved = readFileSync(file, 'utf8');
    const cases: [number, string, RegExp][] = [
      [0, 'mask_zero', /layer 'emb'.*maskZero is not supported/],
      [1, 'stateful', /layer 'lstm'.*stateful recurrent layers are not supported/],
      [1, 'time_major', /layer 'lstm'.*time_major recurrent layers are not supported/],
    ];
    for (const [layer, key, msg] of cases) {
      const json = JSON.parse(saved);
      json.modelTopology.config.layers[layer].config[key] = true;
      writeFileSync(file, JSON.stringify(json));
      const err = await tb.loadModel(`file://${file}`).catch((e: unknown) => e);
      expect(err, key).toBeInstanceOf(tb.TensorboltError);
      expect((err as Error).message, key).toMatch(msg);
      expect((err as Error).message, key).toContain('model.json');
    }
  });
});
