// Errors that were not TensorboltErrors, or could not be read: a stack overflow while formatting a
// deeply nested value, TypeErrors on null, misleading messages for a dtype named 'constructor' or a
// null topology config, the kernel's own message for reductions past 2^31 elements, a nested array
// deeper than the rank limit, and a tensor named __proto__ that saved but could not be loaded.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { fmtValue } from '../../lib/tensor/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-hostile-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const sub = () => mkdtempSync(join(dir, `${n++}-`));

const deep = (depth: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};
const deepText = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** The error fn throws (or rejects with). */
async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('nothing was thrown');
}

async function savedModelJson(): Promise<{ dir: string; json: any }> {
  const d = sub();
  await tb.sequential([tb.layers.dense({ units: 2, inputShape: [3] })]).save(`file://${d}`);
  return { dir: d, json: JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')) };
}

describe('deep nesting is reported, not a stack overflow', () => {
  it('fmtValue stays short and never recurses far (cycles, BigInt, 200,000 levels)', () => {
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = cyc;
    expect(fmtValue(deep(200_000))).toBe('[[[[[...]]]]]');
    expect(fmtValue(cyc)).toBe('{"a":1,"self":{"a":1,"self":{"a":1,"self":{"a":1,"self":{...}}}}}');
    expect(fmtValue([1n, 'x', null, NaN])).toBe('[1n,"x",null,NaN]');
    expect(fmtValue(new Array(1000).fill(0)).length).toBeLessThan(60);
    expect(fmtValue('y'.repeat(10_000)).length).toBeLessThanOrEqual(90);
  });

  it('model.json: a layer entry nested 200,000 deep, and deep values in a layer config', async () => {
    const { dir: d, json } = await savedModelJson();
    const text = JSON.stringify(json).replace('"layers":[', `"layers":[${deepText(200_000)},`);
    writeFileSync(join(d, 'model.json'), text);
    const e = await errorOf(() => tb.loadModel(`file://${d}`));
    expect(e).toBeInstanceOf(tb.TensorboltError);
    expect(e.message).toMatch(/a layer entry has no class_name: \[\[\[\[\[\.\.\.\]\]\]\]\]$/);
    for (const key of ['name', 'dilation_rate', 'activation', 'data_format']) {
      const j = structuredClone(json);
      j.modelTopology.config.layers[0].config[key] = '__DEEP__';
      writeFileSync(join(d, 'model.json'), JSON.stringify(j).replace('"__DEEP__"', deepText(100_000)));
      const err = await errorOf(() => tb.loadModel(`file://${d}`));
      expect(err, key).toBeInstanceOf(tb.TensorboltError);
    }
    const j = structuredClone(json);
    j.weightsManifest[0].weights[0].dtype = '__DEEP__';
    writeFileSync(join(d, 'model.json'), JSON.stringify(j).replace('"__DEEP__"', deepText(100_000)));
    expect((await errorOf(() => tb.loadModel(`file://${d}`))).message).toMatch(/has dtype \[\[\[\[\[\.\.\.\]\]\]\]\]; only float32/);
  });

  it('safetensors: a shape, dtype or data_offsets nested 200,000 deep', () => {
    for (const field of ['shape', 'dtype', 'data_offsets']) {
      const entry: Record<string, string> = { dtype: '"F32"', shape: '[1]', data_offsets: '[0,4]' };
      entry[field] = deepText(200_000);
      const head = Buffer.from(`{"a":{${Object.entries(entry).map(([k, v]) => `"${k}":${v}`).join(',')}}}`);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(head.length));
      const e = (() => { try { tb.parseSafetensors(Buffer.concat([len, head, Buffer.alloc(4)]), 'deep.safetensors'); } catch (err) { return err as Error; } return null; })();
      expect(e, field).toBeInstanceOf(tb.TensorboltError);
      expect(e!.message, field).toContain('[[[[[...]]]]]');
    }
  });

  it('tb.tensor of arrays nested 200,000 deep, or 20 deep: the rank limit', () => {
    expect(() => tb.tensor(deep(200_000) as tb.NestedArray)).toThrow(/^tensor: the nested array is more than 8 levels deep; tensors have at most 8 dimensions$/);
    expect(() => tb.tensor(deep(20) as tb.NestedArray)).toThrow(/more than 8 levels deep/);
    expect(tb.tensor(deep(8) as tb.NestedArray).rank).toBe(8);
  });
});

describe('TensorboltError, not TypeError, on null', () => {
  it('module.loadStateDict(null), fit with a null callback, tb.callback(null)', async () => {
    expect(() => new tb.nn.Linear(2, 2).loadStateDict(null as never)).toThrow(/^Linear\.loadStateDict: expects an object of named tensors .*got null$/);
    const m = tb.sequential([tb.layers.dense({ units: 2, inputShape: [2] })]);
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await expect(m.fit(tb.ones([2, 2]), tb.ones([2, 2]), { verbose: 0, callbacks: [null as never] })).rejects.toThrow(/^fit: callbacks\[0\] must be a callback object .*got null$/);
    expect(() => tb.callback(null as never)).toThrow(tb.TensorboltError);
  });

  it('a state dict key from Object.prototype is not an entry', () => {
    const lin = new tb.nn.Linear(2, 2);
    expect(() => lin.loadStateDict({ constructor: tb.ones([2]) } as never)).toThrow(/keys differ: missing \[weight, bias\], unexpected \[constructor\]/);
    expect(() => lin.loadStateDict({ weight: tb.ones([2, 2]) } as never)).toThrow(/keys differ: missing \[bias\], unexpected \[\]/);
  });

  it('EarlyStopping options are checked', () => {
    expect(() => tb.earlyStopping({ mode: 'constructor' as never })).toThrow(/^EarlyStopping: mode must be 'auto', 'min' or 'max', got "constructor"$/);
    expect(() => tb.earlyStopping({ patience: -1 })).toThrow(/patience must be a non-negative integer/);
    expect(() => tb.earlyStopping({ monitor: 5 as never })).toThrow(/monitor must be a log name/);
  });
});

describe('messages that say what is wrong', () => {
  it("a weight of dtype 'constructor' (not 'NaN bytes')", async () => {
    const { dir: d, json } = await savedModelJson();
    json.weightsManifest[0].weights[0].dtype = 'constructor';
    writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(/weight '.*' has dtype constructor; only float32 \(and int32 optimizer counters\) are supported/);
    const head = Buffer.from('{"a":{"dtype":"constructor","shape":[1],"data_offsets":[0,4]}}');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    expect(() => tb.parseSafetensors(Buffer.concat([len, head, Buffer.alloc(4)]), 'c.safetensors')).toThrow(/tensor 'a' has dtype "constructor"; supported: F32, I32/);
  });

  it("modelTopology.config: null (not 'only Sequential models are supported, got Sequential')", async () => {
    const { dir: d, json } = await savedModelJson();
    for (const [config, what] of [[null, 'got null'], [{ name: 'x' }, 'got layers undefined'], [{ layers: 5 }, 'got layers 5']] as const) {
      json.modelTopology.config = config;
      writeFileSync(join(d, 'model.json'), JSON.stringify(json));
      await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(new RegExp(`modelTopology\\.config must be an object with a layers array \\(or the array of layers\\), ${what}$`));
    }
    json.modelTopology = { class_name: 'Model', config: { layers: [] } };
    writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(/only Sequential models are supported, got 'Model'/);
  });

  it('a layer config that is not an object', async () => {
    const { dir: d, json } = await savedModelJson();
    json.modelTopology.config.layers[0].config = [1, 2];
    writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(/layer Dense has config \[1,2\]; expected an object/);
  });
});

describe('reductions past 2^31 elements along an axis', () => {
  it('an empty tensor with a 2^31 axis reduces to an empty result without the kernel', () => {
    const x = tb.zeros([0, 2 ** 31]);
    for (const f of [tb.sum, tb.mean, tb.max, tb.min, tb.prod]) expect((f as (t: tb.Tensor, a: number[]) => tb.Tensor)(x, [1]).shape).toEqual([0]);
    expect(tb.max(x, 1).indices.shape).toEqual([0]);
    expect(tb.argMax(x, 1).shape).toEqual([0]);
    const p = tb.nn.parameter(tb.zeros([0, 2 ** 31]));
    tb.sum(tb.sum(p, 1)).backward();
    expect(p.grad!.shape).toEqual([0, 2 ** 31]);
  });

  it('2^31 elements along the reduced axis: a TensorboltError naming the op and the shape', () => {
    let big: Float32Array;
    try {
      big = new Float32Array(2 ** 31); // 8 GiB of address space, never touched
    } catch {
      console.log('reductions past 2^31: this machine cannot reserve 8 GiB; only the empty case ran');
      return;
    }
    const x = tb.tensor(big, [2 ** 31]);
    expect(() => tb.sum(x)).toThrow(/^sum: x \[2147483648\] \(2147483648 elements\) is reduced as \(outer 1, reduced 2147483648, inner 1\), and one reduction handles at most 2147483647 along each; reduce in parts/);
    expect(() => tb.argMax(x)).toThrow(/^argMax: x \[2147483648\] .* at most 2147483647/);
  });
});

describe('a tensor named __proto__', () => {
  it("saves and loads as an own key (it became the dict's prototype, and the file did not load)", () => {
    const f = join(sub(), 'p.safetensors');
    const sd: tb.TensorDict = {};
    Object.defineProperty(sd, '__proto__', { value: tb.tensor([1, 2, 3]), enumerable: true });
    sd.other = tb.tensor([4]);
    tb.save(sd, f);
    const back = tb.load(f);
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'other']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Array.from(Object.getOwnPropertyDescriptor(back, '__proto__')!.value.dataSync())).toEqual([1, 2, 3]);
  });
});
