// PyTorch's recurrent state dicts through safetensors, both ways, against the system PyTorch
// (Debian's python3-torch; skipped where it does not import): torch.nn.LSTM/GRU/RNN weights
// (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse) load into tb.nn's modules and
// give PyTorch's outputs and final states, and tensorbolt's load with load_state_dict(strict=True).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, relErr, tempDir } from './tfjs_helpers.js';
import { PY, PY_TORCH_IO, haveTorch } from './torch_helpers.js';

afterAll(cleanTempDirs);


// make: torch's own modules, input and outputs. run: tensorbolt's weights in torch's modules.
const TORCH = String.raw`${PY_TORCH_IO}
def modules():
    return {
        'lstm': torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True),
        'gru': torch.nn.GRU(5, 3, num_layers=2, bidirectional=True),
        'rnn': torch.nn.RNN(5, 3, nonlinearity='relu'),
    }
def run(mods, x):
    out = {}
    for name, m in mods.items():
        if name == 'lstm':
            y, (h, c) = m(x['x_bf'])
            out['lstm.c'] = c
        else:
            y, h = m(x['x'])
        out[name + '.y'] = y
        out[name + '.h'] = h
    return out
torch.manual_seed(0)
mods = modules()
if sys.argv[1] == 'make':
    x = {'x': torch.randn(6, 3, 5), 'x_bf': torch.randn(3, 6, 5)}
    for name, m in mods.items():
        write(sys.argv[2] + '/' + name + '.safetensors', dict(m.state_dict()))
    write(sys.argv[2] + '/x.safetensors', x)
    write(sys.argv[2] + '/out.safetensors', run(mods, x))
else:
    for name, m in mods.items():
        m.load_state_dict(read(sys.argv[2] + '/' + name + '.safetensors'), strict=True)
    with torch.no_grad():
        write(sys.argv[2] + '/torch_out.safetensors', run(mods, read(sys.argv[2] + '/x.safetensors')))
`;

function tbModules() {
  return {
    lstm: new tb.nn.LSTM(5, 4, { numLayers: 2, bidirectional: true, batchFirst: true }),
    gru: new tb.nn.GRU(5, 3, { numLayers: 2, bidirectional: true }),
    rnn: new tb.nn.RNN(5, 3, { nonlinearity: 'relu' }),
  };
}

function tbRun(m: ReturnType<typeof tbModules>, x: tb.TensorDict): Record<string, tb.Tensor> {
  const [ly, [lh, lc]] = m.lstm.forward(x.x_bf!);
  const [gy, gh] = m.gru.forward(x.x!);
  const [ry, rh] = m.rnn.forward(x.x!);
  return { 'lstm.y': ly, 'lstm.h': lh, 'lstm.c': lc, 'gru.y': gy, 'gru.h': gh, 'rnn.y': ry, 'rnn.h': rh };
}

function expectSame(ours: Record<string, tb.Tensor>, theirs: tb.TensorDict): void {
  expect(Object.keys(theirs).sort()).toEqual(Object.keys(ours).sort());
  for (const [k, t] of Object.entries(ours)) {
    expect(t.shape, k).toEqual(theirs[k]!.shape);
    expect(relErr(t.dataSync(), theirs[k]!.dataSync()), k).toBeLessThanOrEqual(1e-5);
  }
}

describe.skipIf(!haveTorch)('PyTorch recurrent state dicts (system python3-torch)', () => {
  it("torch.nn.LSTM/GRU/RNN state dicts load through safetensors and give PyTorch's outputs and states", () => {
    const dir = tempDir();
    execFileSync(PY, ['-c', TORCH, 'make', dir]);
    const m = tbModules();
    for (const [name, mod] of Object.entries(m)) {
      const sd = tb.load(join(dir, `${name}.safetensors`));
      expect(Object.keys(sd)).toContain('weight_ih_l0');
      mod.loadStateDict(sd);
    }
    expectSame(tbRun(m, tb.load(join(dir, 'x.safetensors'))), tb.load(join(dir, 'out.safetensors')));
  });

  it("tensorbolt's state dicts load in PyTorch with load_state_dict(strict=True) and give the same outputs", () => {
    tb.setSeed(41);
    const dir = tempDir();
    const m = tbModules();
    for (const [name, mod] of Object.entries(m)) tb.save(mod.stateDict(), join(dir, `${name}.safetensors`));
    const x = { x: tb.randn([6, 3, 5]), x_bf: tb.randn([3, 6, 5]) };
    tb.save(x, join(dir, 'x.safetensors'));
    execFileSync(PY, ['-c', TORCH, 'run', dir]);
    expectSame(tbRun(m, x), tb.load(join(dir, 'torch_out.safetensors')));
  });
});
