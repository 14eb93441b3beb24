import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { expectOpError } from '../helpers/opcheck.js';

const { nn } = tb;

class Block extends nn.Module {
  fc = new nn.Linear(4, 3);
  bn = new nn.BatchNorm1d(3);
  drop = new nn.Dropout(0.5);
  forward(x: tb.Tensor): tb.Tensor {
    return this.drop.forward(tb.relu(this.bn.forward(this.fc.forward(x))));
  }
}

class Net extends nn.Module {
  stem = new nn.Linear(5, 4, { bias: false });
  blocks = [new Block(), new Block()];
  head = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
  scale = nn.parameter(tb.ones([2]));
  // not a parameter: a plain tensor and a private field
  constant = tb.zeros([7]);
  _hidden = new nn.Linear(9, 9);
  forward(x: tb.Tensor): tb.Tensor {
    let h = this.stem.forward(x);
    h = this.blocks[0]!.forward(h);
    h = tb.mul(this.head.forward(h), this.scale);
    return h;
  }
}

describe('Module parameters', () => {
  it('discovers own parameters, submodules, arrays of modules and nn.Sequential children, in order', () => {
    const net = new Net();
    const names = net.namedParameters().map(([k]) => k);
    expect(names).toEqual([
      'scale',
      'stem.weight',
      'blocks.0.fc.weight', 'blocks.0.fc.bias', 'blocks.0.bn.weight', 'blocks.0.bn.bias',
      'blocks.1.fc.weight', 'blocks.1.fc.bias', 'blocks.1.bn.weight', 'blocks.1.bn.bias',
      'head.0.weight', 'head.0.bias', 'head.2.weight', 'head.2.bias',
    ]);
    const params = net.parameters();
    expect(params.length).toBe(names.length);
    expect(params.every((p) => p.requiresGrad)).toBe(true);
    expect(params).toContain(net.stem.weight);
    expect(params).toContain(net.blocks[1]!.bn.weight);
    expect(params).not.toContain(net.constant);
    expect(net._hidden.parameters().length).toBe(2);
    for (const p of net._hidden.parameters()) expect(params).not.toContain(p);
    // 5*4 + 2*(4*3+3+3+3) + (3*4+4) + (4*2+2) + 2
    expect(net.numParameters()).toBe(20 + 2 * 21 + 16 + 10 + 2);
  });

  it('lists a shared parameter once', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(3, 3);
      b = new nn.Linear(3, 3);
      constructor() {
        super();
        this.b.weight = this.a.weight;
      }
      forward(x: tb.Tensor): tb.Tensor {
        return this.b.forward(this.a.forward(x));
      }
    }
    const t = new Tied();
    expect(t.namedParameters().map(([k]) => k)).toEqual(['a.weight', 'a.bias', 'b.bias']);
  });

  it('children() and modules() walk the tree', () => {
    const net = new Net();
    expect(net.namedChildren().map(([k]) => k)).toEqual(['stem', 'blocks.0', 'blocks.1', 'head']);
    // net, stem, 2 x (block, fc, bn, drop), head, head's 3 layers
    expect(net.modules().length).toBe(1 + 1 + 2 * 4 + 1 + 3);
  });

  it('train() and eval() propagate to every descendant', () => {
    const net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.head.train(false);
    expect(net.training).toBe(true);
    expect(net.head.modules().every((m) => !m.training)).toBe(true);
    expect(net.blocks[0]!.drop.training).toBe(true);
  });

  it('eval mode changes dropout and batch norm behaviour of a nested model', () => {
    tb.setSeed(3);
    const net = new Net();
    const x = tb.randn([6, 5]);
    net.eval();
    const a = net.forward(x).dataSync();
    const b = net.forward(x).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b)); // deterministic in eval
    net.train();
    const c = net.forward(x).dataSync();
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('zeroGrad clears every gradient', () => {
    const net = new Net();
    const loss = tb.sum(net.forward(tb.randn([4, 5])));
    loss.backward();
    const withGrad = net.parameters().filter((p) => p.grad !== null);
    // blocks.1 is not used in forward; everything else gets a gradient
    expect(withGrad.length).toBe(net.parameters().length - 4);
    const g = net.stem.weight.grad!;
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
    expect(g.isDisposed).toBe(true);
  });
});

describe('Module state dict', () => {
  it('holds parameters and buffers by dotted name', () => {
    const net = new Net();
    const sd = net.stateDict();
    expect(Object.keys(sd)).toEqual([
      ...net.namedParameters().map(([k]) => k),
      'blocks.0.bn.runningMean', 'blocks.0.bn.runningVar', 'blocks.1.bn.runningMean', 'blocks.1.bn.runningVar',
    ]);
    expect(sd['stem.weight']).toBe(net.stem.weight);
    expect(sd['blocks.1.bn.runningVar']!.shape).toEqual([3]);
  });

  it('round trips into a fresh module (parameters and running statistics)', () => {
    tb.setSeed(11);
    const a = new Net();
    a.train();
    a.forward(tb.randn([8, 5])); // moves blocks.0's running statistics away from 0 / 1
    const rm = a.blocks[0]!.bn.stateDict()['runningMean']!.dataSync();
    expect(Array.from(rm).some((v) => v !== 0)).toBe(true);
    const b = new Net();
    const x = tb.randn([3, 5]);
    a.eval();
    b.eval();
    expect(Array.from(b.forward(x).dataSync())).not.toEqual(Array.from(a.forward(x).dataSync()));
    b.loadStateDict(a.stateDict());
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    // copies, not shared tensors
    expect(b.stem.weight).not.toBe(a.stem.weight);
    for (const [k, t] of Object.entries(a.stateDict())) expect(Array.from(b.stateDict()[k]!.dataSync()), k).toEqual(Array.from(t.dataSync()));
  });

  it('accepts Float32Array values', () => {
    const m = new nn.Linear(2, 2);
    m.loadStateDict({ weight: Float32Array.of(1, 2, 3, 4), bias: Float32Array.of(5, 6) });
    expect(Array.from(m.forward(tb.tensor([[1, 1]])).dataSync())).toEqual([8, 13]);
  });

  it('names missing and unexpected keys', () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.Linear(3, 1));
    const sd = { ...m.stateDict() };
    delete sd['1.bias'];
    sd['2.weight'] = tb.zeros([1]);
    expectOpError(() => m.loadStateDict(sd), 'Sequential.loadStateDict', /missing \[1\.bias\], unexpected \[2\.weight\]/);
  });

  it('non-strict loading skips missing and unexpected keys', () => {
    const m = new nn.Linear(2, 1);
    const before = m.bias!.dataSync();
    m.loadStateDict({ weight: tb.tensor([[7, 8]]), extra: tb.zeros([3]) }, false);
    expect(Array.from(m.weight.dataSync())).toEqual([7, 8]);
    expect(Array.from(m.bias!.dataSync())).toEqual(Array.from(before));
  });

  it('rejects a wrong shape naming the key and both shapes, and changes nothing', () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.Linear(3, 1));
    const before = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]));
    const sd = {
      '0.weight': tb.ones([3, 2]), '0.bias': tb.ones([3]),
      '1.weight': tb.ones([3, 1]), '1.bias': tb.ones([1]),
    };
    expectOpError(() => m.loadStateDict(sd), 'Sequential.loadStateDict', /'1\.weight' has shape \[3,1\], expected \[1,3\]/);
    // all-or-nothing: the keys before the bad one were not loaded either
    for (const [k, t] of Object.entries(m.stateDict())) expect(Array.from(t.dataSync()), k).toEqual(before[k]);
  });

  it('rejects a Float32Array of the wrong length', () => {
    const m = new nn.Linear(2, 2);
    expectOpError(() => m.loadStateDict({ weight: new Float32Array(3), bias: new Float32Array(2) }), 'Linear.loadStateDict', /'weight' has 3 values, expected 4/);
  });
});

describe('Module misuse', () => {
  it('nn.Sequential rejects non-modules', () => {
    expectOpError(() => new nn.Sequential(new nn.ReLU(), {} as unknown as tb.nn.Module), 'Sequential', /argument 1 is not a Module/);
  });
  it('to() rejects devices that are not built', () => {
    expectOpError(() => new nn.Linear(1, 1).to('cuda'), 'Linear.to', /'cuda'/);
    const m = new nn.Linear(1, 1);
    expect(m.to('cpu')).toBe(m);
  });
  it('parameter() rejects int32 tensors', () => {
    expectOpError(() => nn.parameter(tb.zeros([2], 'int32')), 'parameter', /float32/);
  });
  it('dispose frees parameters and buffers', () => {
    const b = new Block();
    const ps = [...b.parameters(), ...Object.values(b.stateDict())];
    b.dispose();
    expect(ps.every((p) => p.isDisposed)).toBe(true);
  });
});
