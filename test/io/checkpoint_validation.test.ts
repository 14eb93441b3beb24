// A checkpoint or saved optimizer state that is incomplete or corrupted is refused before anything
// changes: missing moments (which would restart at zero and resume elsewhere), negative second
// moments (NaN weights one step later), NaN state, a corrupt `extra`, a dtype that does not fit. The
// model's weights and the optimizer's state are exactly as they were after each refusal.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, tempDir } from './tfjs_helpers.js';

afterAll(cleanTempDirs);

function trained(seed: number, make: (p: tb.Tensor[]) => tb.optim.Optimizer = (p) => new tb.optim.Adam(p, { lr: 0.1 })) {
  tb.setSeed(seed);
  const model = new tb.nn.Sequential(new tb.nn.Linear(4, 3), new tb.nn.ReLU(), new tb.nn.Linear(3, 2));
  const opt = make(model.parameters());
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    tb.mean(tb.square(model.forward(tb.randn([5, 4])))).backward();
    opt.step();
  }
  return { model, opt };
}

/** Everything loadCheckpoint could change: the weights and the optimizer's full state. */
function snapshot(model: tb.nn.Module, opt: tb.optim.Optimizer): string {
  const sd = opt.stateDict();
  const state = Object.entries(sd.state).map(([k, e]) => [k, Object.entries(e).map(([n, v]) => [n, v instanceof tb.Tensor ? Array.from(v.dataSync()) : v])]);
  return JSON.stringify({ w: Object.values(model.stateDict()).map((t) => Array.from(t.dataSync())), state, groups: sd.paramGroups });
}

/** A checkpoint of a trained model, rewritten by edit (tensors and metadata as tb.loadSafetensors gives them). */
function damaged(edit: (t: tb.TensorDict, meta: Record<string, string>) => void, make?: (p: tb.Tensor[]) => tb.optim.Optimizer): string {
  const { model, opt } = trained(1, make);
  const file = join(tempDir(), 'ckpt.safetensors');
  tb.saveCheckpoint(file, { model, optimizer: opt, epoch: 3, extra: { best: 0.5 } });
  const { tensors, metadata } = tb.loadSafetensors(file);
  edit(tensors, metadata);
  tb.save(tensors, file, { metadata });
  return file;
}

function expectRefused(file: string, what: RegExp, make?: (p: tb.Tensor[]) => tb.optim.Optimizer): void {
  const { model, opt } = trained(2, make);
  const before = snapshot(model, opt);
  let err: unknown;
  try {
    tb.loadCheckpoint(file, { model, optimizer: opt });
  } catch (e) {
    err = e;
  }
  expect(err, 'the checkpoint loaded').toBeInstanceOf(tb.TensorboltError);
  expect((err as Error).message).toContain(`loadCheckpoint: ${file}: `);
  expect((err as Error).message).toMatch(what);
  expect(snapshot(model, opt)).toBe(before);
}

const drop = (re: RegExp) => (t: tb.TensorDict) => { for (const k of Object.keys(t)) if (re.test(k)) delete t[k]; };

describe('loadCheckpoint refuses incomplete or corrupted state and changes nothing', () => {
  it('an intact checkpoint still resumes exactly', () => {
    const { model, opt } = trained(1);
    const file = join(tempDir(), 'ok.safetensors');
    tb.saveCheckpoint(file, { model, optimizer: opt, epoch: 3, extra: { best: 0.5 } });
    const b = trained(2);
    expect(tb.loadCheckpoint(file, { model: b.model, optimizer: b.opt })).toEqual({ epoch: 3, extra: { best: 0.5 } });
    expect(snapshot(b.model, b.opt)).toBe(snapshot(model, opt));
  });

  it('Adam first moments removed', () => expectRefused(damaged(drop(/^optimizer\.\d+\.expAvg$/)), /state 0 is incomplete: step 3 but no expAvg \(Adam with these settings keeps expAvg, expAvgSq\)/));
  it('Adam second moments removed', () => expectRefused(damaged(drop(/expAvgSq$/)), /state 0 is incomplete: step 3 but no expAvgSq/));
  it('every optimizer tensor removed (the step counts kept)', () => expectRefused(damaged(drop(/^optimizer\./)), /state 0 is incomplete: step 3 but no expAvg, expAvgSq/));
  it('SGD with momentum without its buffers', () =>
    expectRefused(damaged(drop(/momentumBuffer$/), (p) => new tb.optim.SGD(p, { lr: 0.1, momentum: 0.9 })), /state 0 is incomplete: step 3 but no momentumBuffer/, (p) => new tb.optim.SGD(p, { lr: 0.1, momentum: 0.9 })));
  it('RMSprop (centered) without its gradient average', () => {
    const make = (p: tb.Tensor[]) => new tb.optim.RMSprop(p, { lr: 0.01, centered: true });
    expectRefused(damaged(drop(/gradAvg$/), make), /state 0 is incomplete: step 3 but no gradAvg/, make);
  });

  it('negative second moments', () =>
    expectRefused(damaged((t) => { t['optimizer.2.expAvgSq'] = tb.full(t['optimizer.2.expAvgSq']!.shape.slice(), -1); }),
      /state 2\.expAvgSq\[0\] is -1 \(it holds squares: finite and >= 0\); the state is corrupted/));
  it('a NaN in the first moments', () =>
    expectRefused(damaged((t) => { const d = t['optimizer.1.expAvg']!.dataSync(); d[2] = NaN; t['optimizer.1.expAvg'] = tb.tensor(d, t['optimizer.1.expAvg']!.shape.slice()); }),
      /state 1\.expAvg\[2\] is NaN \(must be finite\)/));
  it('a negative Adagrad sum', () => {
    const make = (p: tb.Tensor[]) => new tb.optim.Adagrad(p, { lr: 0.1 });
    expectRefused(damaged((t) => { t['optimizer.0.sum'] = tb.full(t['optimizer.0.sum']!.shape.slice(), -0.5); }, make), /state 0\.sum\[0\] is -0\.5 \(it holds squares/, make);
  });

  it('a corrupt extra is found before the weights change', () =>
    expectRefused(damaged((_t, m) => { m.extra = '{not json'; }), /corrupted extra metadata: .*JSON/));
  it('extra that is not an object', () => expectRefused(damaged((_t, m) => { m.extra = '[1,2]'; }), /corrupted extra metadata: expected a JSON object, got \[1,2\]/));
  it('optimizer metadata that is JSON null', () => expectRefused(damaged((_t, m) => { m.optimizer = 'null'; }), /corrupted optimizer metadata: expected a JSON object/));
  it('optimizer metadata without steps', () =>
    expectRefused(damaged((_t, m) => { m.optimizer = JSON.stringify({ ...JSON.parse(m.optimizer!), steps: null }); }), /corrupted optimizer metadata: expected \{ name, paramGroups, steps \}/));
  it('a weight saved as int32', () =>
    expectRefused(damaged((t) => { t['model.0.bias'] = tb.zeros([3], 'int32'); }), /'0\.bias' is int32 in the checkpoint but float32 in the model/));

  it('an optimizer state dict handed directly: incomplete or negative is refused, the optimizer unchanged', () => {
    const { model, opt } = trained(3);
    const before = snapshot(model, opt);
    const good = opt.stateDict();
    const noMoments = { state: { 0: { step: 3 } }, paramGroups: good.paramGroups };
    expect(() => opt.loadStateDict(noMoments)).toThrow(/Adam\.loadStateDict: state 0 is incomplete: step 3 but no expAvg, expAvgSq/);
    const neg = { state: { 0: { ...good.state[0]!, expAvgSq: new Float32Array(12).fill(-2) } }, paramGroups: good.paramGroups };
    expect(() => opt.loadStateDict(neg)).toThrow(/state 0\.expAvgSq\[0\] is -2/);
    expect(snapshot(model, opt)).toBe(before);
    // never stepped (step 0) and SGD without momentum need no buffers
    new tb.optim.SGD(model.parameters()).loadStateDict({ state: { 0: { step: 2 } }, paramGroups: [{ ...new tb.optim.SGD(model.parameters()).stateDict().paramGroups[0]! }] });
  });
});

describe('model.json with includeOptimizer', () => {
  async function saved(): Promise<string> {
    tb.setSeed(4);
    const m = tb.sequential([tb.layers.dense({ units: 3, inputShape: [4] })]);
    m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    await m.fit(tb.randn([8, 4]), tb.randn([8, 3]), { epochs: 2, batchSize: 4, verbose: 0 });
    const dir = tempDir();
    await m.save(`file://${dir}`, { includeOptimizer: true });
    return dir;
  }
  function edit(dir: string, fn: (j: any, w: Float32Array) => void): void {
    const j = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const wf = join(dir, j.weightsManifest[0].paths[0]);
    const raw = readFileSync(wf);
    const w = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    fn(j, w);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(j));
    writeFileSync(wf, new Uint8Array(w.buffer, 0, j.weightsManifest[0].weights.reduce((s: number, e: any) => s + 4 * e.shape.reduce((a: number, b: number) => a * b, 1), 0)));
  }

  it('Adam iter > 0 with the m and v arrays removed', async () => {
    const dir = await saved();
    edit(dir, (j) => { j.weightsManifest[0].weights = j.weightsManifest[0].weights.filter((e: any) => !/\/[mv]$/.test(e.name)); });
    await expect(tb.loadModel(`file://${dir}`)).rejects.toThrow(/the optimizer state is incomplete: 'iter' is 4 but the manifest holds none of Adam's arrays/);
    await expect(tb.loadModel(`file://${dir}`, { includeOptimizer: false })).resolves.toBeInstanceOf(tb.Sequential);
  });

  it('Adam v (second moments) negative', async () => {
    const dir = await saved();
    edit(dir, (j, w) => {
      let off = 0;
      for (const e of j.weightsManifest[0].weights) {
        const n = e.shape.reduce((a: number, b: number) => a * b, 1);
        if (/\/v$/.test(e.name)) w.fill(-1, off, off + n);
        off += n;
      }
    });
    await expect(tb.loadModel(`file://${dir}`)).rejects.toThrow(/expAvgSq\[0\] is -1/);
  });
});
