// The system PyTorch for the interop tests (Debian's python3-torch; the tests skip where it does not
// import), and the safetensors reader/writer its scripts use: json + struct, since that python3 has
// no safetensors package.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PY = '/usr/bin/python3';
export const havePython = existsSync(PY);
export const haveTorch = havePython && spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** Python source defining read(path) -> {name: tensor} (F32, I32) and write(path, {name: tensor}) (as F32). */
export const PY_TORCH_IO = String.raw`
import json, struct, sys, torch
def read(path):
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop('__metadata__', None)
    dt = {'F32': torch.float32, 'I32': torch.int32}
    return {k: torch.frombuffer(bytearray(raw[8 + n + e['data_offsets'][0]: 8 + n + e['data_offsets'][1]]), dtype=dt[e['dtype']]).reshape(e['shape'])
            for k, e in header.items()}
def write(path, tensors):
    header, data = {}, b''
    for k, t in tensors.items():
        blob = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [len(data), len(data) + len(blob)]}
        data += blob
    h = json.dumps(header).encode()
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + data)
`;
