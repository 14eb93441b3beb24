// What the device suite's training tests share: comparing a run on 'cuda' with the same seeded run
// on the CPU, and checking that device memory stays flat over many training steps.
import { expect } from 'vitest';
import * as tb from '../../lib/index.js';

// The same weights, batches and dropout masks on both devices, kernels that agree to float32
// rounding, sums in another order: below 1e-4 relative over these runs, where a wrong gradient
// moves the weights by 1e-3 and more after one step.
const ATOL = 1e-5;
const RTOL = 2e-4;

/** |a - b| <= ATOL + RTOL·|b| element-wise (b: the CPU run). */
export function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < b.length; i++)
    if (!(Math.abs(a[i]! - b[i]!) <= ATOL + RTOL * Math.abs(b[i]!))) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/**
 * Runs step `warmup` times, then `steps` times more: the caching allocator must have stopped
 * growing after the warm-up (same bytes in use and cached, no new device allocation, cache hits)
 * and the live device tensors must be the same.
 */
export function expectDeviceMemoryFlat(step: () => void, warmup: number, steps: number): void {
  for (let i = 0; i < warmup; i++) step();
  const warm = tb.cuda.memory()!;
  const live = tb.memory().devices.cuda;
  for (let i = 0; i < steps; i++) step();
  const after = tb.cuda.memory()!;
  expect(after.inUse).toBe(warm.inUse);
  expect(after.deviceMallocs).toBe(warm.deviceMallocs);
  expect(after.cached).toBe(warm.cached);
  expect(after.cacheHits).toBeGreaterThan(warm.cacheHits);
  expect(tb.memory().devices.cuda).toEqual(live);
}

/**
 * A PyTorch-style loop of `steps` steps of cross-entropy on batch(s) (host tensors, moved to the
 * model's device); at step `moveAt` the model moves to `device` (the optimizer, made before, must
 * keep working). Returns the losses and the final weights read back; disposes net and opt.
 */
export function trainLoop(net: tb.nn.Module, opt: tb.optim.Optimizer, device: tb.DeviceName, steps: number, moveAt: number,
                          batch: (step: number) => [tb.Tensor, tb.Tensor]): { losses: number[]; weights: Float32Array[] } {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    if (s === moveAt) net.to(device);
    const [x, y] = batch(s);
    const xb = x.to(net.device);
    const yb = y.to(net.device);
    opt.zeroGrad();
    const loss = tb.nn.functional.crossEntropy(net.forward(xb) as tb.Tensor, yb);
    loss.backward();
    opt.step();
    losses.push(loss.item());
    tb.dispose([xb, yb, loss]);
  }
  for (const p of net.parameters()) expect(p.device).toBe(device);
  const weights = net.parameters().map((p) => p.dataSync() as Float32Array);
  net.dispose();
  opt.dispose();
  return { losses, weights };
}
