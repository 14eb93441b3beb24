// Damaged and mismatched files: every one gets a TensorboltError that names the file and what is wrong.
import { readFileSync, writeFileSync, truncateSync, unlinkSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, tempDir } from './tfjs_helpers.js';

afterAll(cleanTempDirs);

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Runs fn, expects a TensorboltError whose message holds the file and matches `what`. */
async function expectFileError(fn: () => unknown, file: string, what: RegExp): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'no error was thrown').toBeInstanceOf(tb.TensorboltError);
  const msg = (err as Error).message;
  expect(msg).toMatch(new RegExp(esc(file)));
  expect(msg).toMatch(what);
}

describe('model.json + weights.bin', () => {
  let good = '';
  beforeAll(async () => {
    good = tempDir();
    const m = tb.sequential([
      tb.layers.dense({ units: 4, activation: 'relu', inputShape: [3] }),
      tb.layers.dense({ units: 2 }),
    ]);
    await m.save(`file://${good}`);
  });
  /** A copy of the good model, its weights in weights.bin (as tfjs names them), model.json edited by `edit`. */
  function variant(edit: (json: Record<string, any>) => void = () => {}): string {
    const dir = tempDir();
    const json = JSON.parse(readFileSync(join(good, 'model.json'), 'utf8'));
    const saved = json.weightsManifest[0].paths[0];
    json.weightsManifest[0].paths = ['weights.bin'];
    edit(json);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(join(dir, 'weights.bin'), readFileSync(join(good, saved)));
    return dir;
  }

  it('loads when intact', async () => {
    expect((await tb.loadModel(`file://${good}`)).layers.length).toBe(2);
  });

  it('truncated model.json', async () => {
    const dir = variant();
    const f = join(dir, 'model.json');
    truncateSync(f, 40);
    await expectFileError(() => tb.loadModel(`file://${dir}`), f, /not valid JSON .*truncated or corrupted/);
  });

  it('truncated weights.bin', async () => {
    const dir = variant();
    truncateSync(join(dir, 'weights.bin'), 30);
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /describes 104 bytes .* weights\.bin holds 30 bytes \(truncated/);
  });

  it('weights.bin longer than the manifest', async () => {
    const dir = variant();
    appendFileSync(join(dir, 'weights.bin'), Buffer.alloc(8));
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /holds 112 bytes \(trailing data/);
  });

  it('missing weights.bin', async () => {
    const dir = variant();
    unlinkSync(join(dir, 'weights.bin'));
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'weights.bin'), /is missing/);
  });

  it('a manifest naming other weights', async () => {
    const dir = variant((j) => { j.weightsManifest[0].weights[0].name = 'other/kernel'; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'),
      /manifest does not match the layers: missing \[dense\w*\/kernel\], unexpected \[other\/kernel\]/);
  });

  it('a manifest whose shapes do not fit the layers', async () => {
    const dir = variant((j) => { j.weightsManifest[0].weights[0].shape = [4, 3]; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /has shape \[4,3\] in the manifest but the layer needs \[3,4\]/);
  });

  it('a topology that disagrees with the weights (units changed)', async () => {
    const dir = variant((j) => { j.modelTopology.config.layers[1].config.units = 3; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /has shape \[4,2\] in the manifest but the layer needs \[4,3\]/);
  });

  it('an unknown layer class', async () => {
    const dir = variant((j) => { j.modelTopology.config.layers[1].class_name = 'ConvLSTM2D'; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /unknown layer class 'ConvLSTM2D'.*supported: Dense.*LSTM, GRU, Bidirectional/);
  });

  it('an invalid layer config names the layer', async () => {
    const dir = variant((j) => { j.modelTopology.config.layers[0].config.activation = 'swish'; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /layer 'dense\w*' \(Dense\).*swish/);
  });

  it('an unsupported dtype, quantized weights, a functional model, an escaping weights path', async () => {
    let dir = variant((j) => { j.weightsManifest[0].weights[0].dtype = 'float16'; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /dtype float16/);
    dir = variant((j) => { j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', scale: 1, min: 0 }; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /is quantized/);
    dir = variant((j) => { j.modelTopology.class_name = 'Model'; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /only Sequential models are supported, got 'Model'/);
    dir = variant((j) => { j.weightsManifest[0].paths = ['../../etc/passwd']; });
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /must be relative to the model's folder/);
  });

  it('no model.json', async () => {
    const dir = tempDir();
    await expectFileError(() => tb.loadModel(`file://${dir}`), join(dir, 'model.json'), /no such file/);
  });
});

describe('safetensors', () => {
  let good = '';
  let bytes: Buffer;
  beforeAll(() => {
    good = join(tempDir(), 'good.safetensors');
    tb.save({ a: tb.arange(0, 6).reshape([2, 3]), b: tb.ones([4]) }, good);
    bytes = readFileSync(good);
  });
  const headerLen = () => Number(bytes.readBigUInt64LE(0));
  function damaged(make: (b: Buffer) => Buffer): string {
    const f = join(tempDir(), 'bad.safetensors');
    writeFileSync(f, make(Buffer.from(bytes)));
    return f;
  }
  /** The file with its header replaced (re-padded), data unchanged. */
  function withHeader(edit: (h: Record<string, any>) => void): string {
    const h = JSON.parse(bytes.subarray(8, 8 + headerLen()).toString('utf8'));
    edit(h);
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.byteLength));
    return damaged(() => Buffer.concat([len, json, bytes.subarray(8 + headerLen())]));
  }

  it('loads when intact', () => {
    expect(Array.from(tb.load(good).a!.dataSync())).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('shorter than the length field', () => {
    const f = damaged((b) => b.subarray(0, 5));
    expect(() => tb.load(f)).toThrow(new RegExp(`load: ${esc(f)}: truncated: 5 bytes`));
  });

  it('cut inside the header', () => {
    const f = damaged((b) => b.subarray(0, 20));
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: truncated: the header says it is \\d+ bytes but only 12 follow`));
  });

  it('cut inside the data', () => {
    const f = damaged((b) => b.subarray(0, b.byteLength - 3));
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: truncated: tensor '\\w' ends at byte \\d+ of the data section, which holds only \\d+ bytes`));
  });

  it('bytes after the last tensor', () => {
    const f = damaged((b) => Buffer.concat([b, Buffer.alloc(4)]));
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: corrupted: 4 bytes after the last tensor`));
  });

  it('a garbage header, a huge length field, a file that is not safetensors', () => {
    let f = damaged((b) => { b.write('{"a": [', 8); return b; });
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: corrupted header`));
    f = damaged((b) => { b.writeBigUInt64LE(1n << 40n, 0); return b; });
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: corrupted: header length \\d+ is beyond`));
    f = damaged(() => Buffer.from('PK\u0003\u0004 this is a zip file, really, not safetensors at all'));
    expect(() => tb.load(f)).toThrow(new RegExp(esc(f)));
  });

  it('a header that does not match the data', () => {
    let f = withHeader((h) => { h.a.shape = [3, 3]; });
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: tensor 'a' is F32 \\[3,3\\] \\(36 bytes\\) but its data_offsets span 24 bytes`));
    f = withHeader((h) => { h.a.data_offsets = [0, 24]; h.b.data_offsets = [8, 24]; });
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: corrupted: tensor 'b' overlaps`));
    f = withHeader((h) => { h.a.dtype = 'F8_E4M3'; });
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: tensor 'a' has dtype "F8_E4M3"`));
    f = withHeader((h) => { h.__metadata__ = { epoch: 3 }; });
    expect(() => tb.load(f)).toThrow(new RegExp(`${esc(f)}: __metadata__ must map strings to strings`));
  });

  it('no such file, and saving something that is not a tensor', () => {
    const f = join(tempDir(), 'nope.safetensors');
    expect(() => tb.load(f)).toThrow(new RegExp(`load: ${esc(f)}: no such file`));
    expect(() => tb.save({ a: [1, 2, 3] } as never, f)).toThrow(/save: 'a' is not a Tensor/);
    expect(() => tb.save({ a: tb.ones([1]) }, f, { metadata: { n: 1 } as never })).toThrow(/metadata\['n'\] must be a string/);
  });

  it('a checkpoint cut short names the file', () => {
    class M extends tb.nn.Module {
      fc = new tb.nn.Linear(3, 2);
      forward(x: tb.Tensor) { return this.fc.forward(x); }
    }
    const m = new M();
    const f = join(tempDir(), 'ckpt.safetensors');
    tb.saveCheckpoint(f, { model: m, optimizer: new tb.optim.Adam(m.parameters()), epoch: 1 });
    truncateSync(f, readFileSync(f).byteLength - 1);
    expect(() => tb.loadCheckpoint(f, { model: m })).toThrow(new RegExp(`loadCheckpoint: ${esc(f)}: truncated`));
  });
});
