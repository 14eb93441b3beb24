// safetensors: tb.save / tb.load round trips, and files checked by readers and writers that share no
// code with ours: a json+struct reader/writer run by the system python3, and PyTorch when it imports.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, tempDir } from './tfjs_helpers.js';
import { PY, PY_TORCH_IO, havePython, haveTorch } from './torch_helpers.js';

afterAll(cleanTempDirs);


// An independent reader: the header with json, the values with struct. Prints JSON.
const PY_READ = String.raw`
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
fmt = {'F32': 'f', 'I32': 'i'}
out = {'__metadata__': header.pop('__metadata__', {}), 'tensors': {}, 'data_start': 8 + n}
for name, e in header.items():
    b, end = e['data_offsets']
    count = 1
    for d in e['shape']:
        count *= d
    vals = struct.unpack('<%d%s' % (count, fmt[e['dtype']]), data[b:end])
    out['tensors'][name] = {'dtype': e['dtype'], 'shape': e['shape'], 'values': list(vals)}
print(json.dumps(out))
`;

// An independent writer: every dtype tb.load converts, with values known to the test.
const PY_WRITE = String.raw`
import json, struct, sys
def bf16(x):
    return struct.pack('<I', struct.unpack('<I', struct.pack('<f', x))[0])[2:]
tensors = [
    ('f32', 'F32', [2, 2], struct.pack('<4f', 1.5, -2.25, 3.0, 0.0)),
    ('f16', 'F16', [3], struct.pack('<3e', 0.5, -65504.0, 6.103515625e-05)),
    ('bf16', 'BF16', [2], bf16(1.0) + bf16(-3.5)),
    ('f64', 'F64', [2], struct.pack('<2d', 0.1, -1e10)),
    ('i64', 'I64', [3], struct.pack('<3q', 7, -2147483648, 2147483647)),
    ('i32', 'I32', [1], struct.pack('<i', -5)),
    ('u8', 'U8', [2], bytes([0, 255])),
    ('flag', 'BOOL', [2], bytes([1, 0])),
    ('empty', 'F32', [0, 3], b''),
]
header, data = {'__metadata__': {'source': 'python struct'}}, b''
for name, dt, shape, blob in tensors:
    header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [len(data), len(data) + len(blob)]}
    data += blob
h = json.dumps(header).encode()
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + data)
`;

class Net extends tb.nn.Module {
  fc1 = new tb.nn.Linear(5, 7);
  bn = new tb.nn.BatchNorm1d(7);
  fc2 = new tb.nn.Linear(7, 3);
  forward(x: tb.Tensor): tb.Tensor {
    return this.fc2.forward(tb.relu(this.bn.forward(this.fc1.forward(x))));
  }
}

describe('tb.save / tb.load', () => {
  it('round-trips a state dict (parameters and buffers), int32 tensors and metadata', () => {
    tb.setSeed(1);
    const net = new Net();
    const file = join(tempDir(), 'net.safetensors');
    const sd = { ...net.stateDict(), 'labels': tb.tensor(Int32Array.of(3, -1, 7), [3]) };
    tb.save(sd, file, { metadata: { note: 'hello' } });
    const { tensors, metadata } = tb.loadSafetensors(file);
    expect(metadata).toEqual({ note: 'hello' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(sd).sort());
    for (const [k, t] of Object.entries(sd)) {
      expect(tensors[k]!.shape).toEqual(t.shape);
      expect(tensors[k]!.dtype).toBe(t.dtype);
      expect(Array.from(tensors[k]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    const other = new Net();
    other.loadStateDict(tb.load(file) as Record<string, tb.Tensor>, false);
    const x = tb.randn([4, 5]);
    net.eval();
    other.eval();
    expect(Array.from(other.forward(x).dataSync())).toEqual(Array.from(net.forward(x).dataSync()));
  });

  it.skipIf(!havePython)('is read by an independent python3 json+struct reader', () => {
    tb.setSeed(2);
    const net = new Net();
    const file = join(tempDir(), 'net.safetensors');
    const sd = { ...net.stateDict(), 'step': tb.tensor(Int32Array.of(41), [1]) };
    tb.save(sd, file, { metadata: { epoch: '3' } });
    const py = JSON.parse(execFileSync(PY, ['-c', PY_READ, file], { encoding: 'utf8' }));
    expect(py.__metadata__).toEqual({ epoch: '3' });
    expect(py.data_start % 8).toBe(0);
    expect(Object.keys(py.tensors).sort()).toEqual(Object.keys(sd).sort());
    for (const [k, t] of Object.entries(sd)) {
      expect(py.tensors[k].dtype).toBe(t.dtype === 'int32' ? 'I32' : 'F32');
      expect(py.tensors[k].shape).toEqual(t.shape);
      expect(py.tensors[k].values).toEqual(Array.from(t.dataSync()));
    }
  });

  it.skipIf(!havePython)('reads what an independent python3 writer wrote, converting PyTorch dtypes', () => {
    const file = join(tempDir(), 'py.safetensors');
    execFileSync(PY, ['-c', PY_WRITE, file]);
    const { tensors: t, metadata } = tb.loadSafetensors(file);
    expect(metadata).toEqual({ source: 'python struct' });
    expect(t.f32!.shape).toEqual([2, 2]);
    expect(Array.from(t.f32!.dataSync())).toEqual([1.5, -2.25, 3, 0]);
    expect(Array.from(t.f16!.dataSync())).toEqual([0.5, -65504, 6.103515625e-5]);
    expect(Array.from(t.bf16!.dataSync())).toEqual([1, -3.5]);
    expect(t.f64!.dtype).toBe('float32');
    expect(Array.from(t.f64!.dataSync())).toEqual([Math.fround(0.1), Math.fround(-1e10)]);
    expect(t.i64!.dtype).toBe('int32');
    expect(Array.from(t.i64!.dataSync())).toEqual([7, -2147483648, 2147483647]);
    expect(Array.from(t.i32!.dataSync())).toEqual([-5]);
    expect(Array.from(t.u8!.dataSync())).toEqual([0, 255]);
    expect(Array.from(t.flag!.dataSync())).toEqual([1, 0]);
    expect(t.empty!.shape).toEqual([0, 3]);
  });
});

// PyTorch reads the header with json and the tensors with torch.frombuffer (Debian's python3-torch
// has no safetensors package), runs the same network, and writes its output back.
const TORCH = String.raw`${PY_TORCH_IO}
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(5, 7)
        self.fc2 = torch.nn.Linear(7, 3)
    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
net = Net()
if sys.argv[1] == 'run':          # tensorbolt's weights and input -> torch's output
    sd = read(sys.argv[2])
    x = read(sys.argv[3])['x']
    net.load_state_dict(sd, strict=True)
    write(sys.argv[4], {'y': net(x)})
else:                             # torch's own weights, input and output
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(4, 5)
    write(sys.argv[2], dict(net.state_dict()))
    write(sys.argv[3], {'x': x, 'y': net(x)})
`;

class TorchNet extends tb.nn.Module {
  fc1 = new tb.nn.Linear(5, 7);
  fc2 = new tb.nn.Linear(7, 3);
  forward(x: tb.Tensor): tb.Tensor {
    return this.fc2.forward(tb.relu(this.fc1.forward(x)));
  }
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}

describe.skipIf(!haveTorch)('PyTorch (system python3-torch)', () => {
  it('loads a tensorbolt state dict with load_state_dict(strict=True) and computes the same output', () => {
    tb.setSeed(5);
    const net = new TorchNet();
    const dir = tempDir();
    const x = tb.randn([6, 5]);
    tb.save(net.stateDict(), join(dir, 'w.safetensors'));
    tb.save({ x }, join(dir, 'x.safetensors'));
    execFileSync(PY, ['-c', TORCH, 'run', join(dir, 'w.safetensors'), join(dir, 'x.safetensors'), join(dir, 'y.safetensors')]);
    const y = tb.load(join(dir, 'y.safetensors')).y!;
    expect(maxRel(net.forward(x).dataSync(), y.dataSync())).toBeLessThanOrEqual(1e-5);
  });

  it('a PyTorch state dict loads into the same tensorbolt module and computes the same output', () => {
    const dir = tempDir();
    execFileSync(PY, ['-c', TORCH, 'make', join(dir, 'w.safetensors'), join(dir, 'xy.safetensors')]);
    const net = new TorchNet();
    net.loadStateDict(tb.load(join(dir, 'w.safetensors')));
    const { x, y } = tb.load(join(dir, 'xy.safetensors'));
    expect(maxRel(net.forward(x!).dataSync(), y!.dataSync())).toBeLessThanOrEqual(1e-5);
    expect(readFileSync(join(dir, 'w.safetensors')).byteLength).toBeGreaterThan(8 + (5 * 7 + 7 + 7 * 3 + 3) * 4);
  });
});
