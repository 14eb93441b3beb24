// registerGradHook / queueBackwardCallback: the autograd hooks data parallelism is built on.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

describe('registerGradHook', () => {
  it('runs once per backward per leaf, with every contribution already in .grad', () => {
    const a = tb.tensor([1, 2]);
    const b = tb.tensor([3, 4]);
    a.requiresGrad = true;
    b.requiresGrad = true;
    const seen: [string, number[]][] = [];
    tb.registerGradHook(a, (t) => seen.push(['a', Array.from(t.grad!.dataSync())]));
    tb.registerGradHook(b, (t) => seen.push(['b', Array.from(t.grad!.dataSync())]));
    // a is used twice (through a*b and a*a): its hook must see the sum 2a + b
    const loss = tb.sum(tb.add(tb.mul(a, b), tb.mul(a, a)));
    loss.backward();
    expect(seen.find((s) => s[0] === 'a')![1]).toEqual([5, 8]);
    expect(seen.find((s) => s[0] === 'b')![1]).toEqual([1, 2]);
    expect(seen.length).toBe(2);
    // a second backward accumulates; the hook sees the accumulated gradient
    tb.sum(tb.mul(a, b)).backward();
    expect(seen.length).toBe(4);
    expect(seen.find((s, i) => i >= 2 && s[0] === 'a')![1]).toEqual([8, 12]);
  });

  it('is removed by the function it returns, and checks its arguments', () => {
    const a = tb.tensor([1]);
    a.requiresGrad = true;
    let calls = 0;
    const remove = tb.registerGradHook(a, () => calls++);
    tb.sum(tb.mul(a, a)).backward();
    remove();
    tb.sum(tb.mul(a, a)).backward();
    expect(calls).toBe(1);
    expect(a._gradHooks).toBeNull();
    expect(() => tb.registerGradHook(null as never, () => {})).toThrow(/registerGradHook: expects a Tensor/);
    expect(() => tb.registerGradHook(a, 3 as never)).toThrow(/hook must be a function/);
  });
});

describe('queueBackwardCallback', () => {
  it('runs queued callbacks after backward has finished and released the graph', () => {
    const a = tb.tensor([1, 2]);
    a.requiresGrad = true;
    const events: string[] = [];
    tb.registerGradHook(a, () => {
      events.push('hook');
      tb.queueBackwardCallback(() => events.push(`callback, grad ${Array.from(a.grad!.dataSync()).join(',')}`));
    });
    const y = tb.mul(a, a);
    tb.sum(y).backward();
    expect(events).toEqual(['hook', 'callback, grad 2,4']);
    expect(y._node).toBeNull();
  });

  it('throws outside backward, and its callbacks are dropped when backward fails', () => {
    expect(() => tb.queueBackwardCallback(() => {})).toThrow(/only be called while backward\(\) runs/);
    const a = tb.tensor([1, 2]);
    a.requiresGrad = true;
    let ran = false;
    tb.registerGradHook(a, () => {
      tb.queueBackwardCallback(() => (ran = true));
      throw new Error('hook failed');
    });
    expect(() => tb.sum(tb.mul(a, a)).backward()).toThrow(/hook failed/);
    expect(ran).toBe(false);
    // the queue does not leak into the next backward
    const b = tb.tensor([1]);
    b.requiresGrad = true;
    tb.sum(tb.mul(b, b)).backward();
    expect(ran).toBe(false);
  });
});
