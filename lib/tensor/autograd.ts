// Reverse-mode automatic differentiation on a tape of GradNodes hanging off output tensors.
// Ops call record() after computing their output; backward() walks the graph in reverse
// topological order, accumulates gradients, assigns leaf .grad and then releases the graph.
import { checkOpGradients, checkOpOutput } from './debug.js';
import { engine } from './engine.js';
import { TensorboltError, fmtShape } from './errors.js';
import { shapesEqual } from './shape.js';
import { Tensor, copyTo, empty, relocate, type GradNode } from './tensor.js';

/** True when an op on these inputs must be recorded. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!engine.gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/**
 * Records `out = op(inputs)` for autograd when any input requires grad; otherwise disposes `saved`
 * at once. `backward(dy)` returns one gradient per input, shaped like that input (or null). It may
 * return dy itself, or one tensor for several inputs: backward() copies aliases as needed.
 */
export function record(
  op: string,
  out: Tensor,
  inputs: Tensor[],
  backward: (dy: Tensor) => (Tensor | null)[],
  saved: Tensor[] = [],
): Tensor {
  // Every op's output passes here once it is computed: the debug-mode NaN/Inf check (one read when off).
  if (engine.debug) checkOpOutput(op, out, inputs, saved);
  if (!needsGrad(...inputs)) {
    for (const s of saved) s.dispose();
    return out;
  }
  out.requiresGrad = true;
  // saved tensors belong to the node, not to any tidy scope: they die with the graph.
  for (const s of saved) engine.keep(s);
  out._node = { op, inputs, backward, saved } satisfies GradNode;
  return out;
}

/** Runs fn with gradient recording off (PyTorch's torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TensorboltError('noGrad', `expects a function, got ${fn === null ? 'null' : typeof fn}`);
  engine.gradDepth++;
  try {
    return fn();
  } finally {
    engine.gradDepth--;
  }
}

export function isGradEnabled(): boolean {
  return engine.gradEnabled;
}

/**
 * Runs hook(t) each time backward() has accumulated t.grad, t a leaf (a parameter): all of this
 * backward's contributions are in t.grad then. PyTorch's register_post_accumulate_grad_hook; data
 * parallelism starts reducing a gradient here while backward goes on. Returns the remover.
 */
export function registerGradHook(t: Tensor, hook: (t: Tensor) => void): () => void {
  if (!(t instanceof Tensor)) throw new TensorboltError('registerGradHook', `expects a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (typeof hook !== 'function') throw new TensorboltError('registerGradHook', `hook must be a function, got ${typeof hook}`);
  (t._gradHooks ??= []).push(hook);
  return () => {
    const i = t._gradHooks?.indexOf(hook) ?? -1;
    if (i >= 0) t._gradHooks!.splice(i, 1);
    if (t._gradHooks?.length === 0) t._gradHooks = null;
  };
}

// Callbacks queued during the backward() in progress (null outside backward).
let queued: (() => void)[] | null = null;

/**
 * Runs fn once the backward() in progress has finished without error (PyTorch's queue_callback):
 * a grad hook uses it to wait for what it started. Throws outside backward.
 */
export function queueBackwardCallback(fn: () => void): void {
  if (!queued) throw new TensorboltError('queueBackwardCallback', 'can only be called while backward() runs (from a grad hook)');
  queued.push(fn);
}

function topoOrder(root: Tensor): Tensor[] {
  // Iterative DFS: deep graphs (long chains) must not overflow the JS stack.
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const t = top[0];
    const inputs = t._node ? t._node.inputs : [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++]!;
      if (!visited.has(next) && next.requiresGrad) {
        visited.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Keep the graph (and its saved tensors) so backward can run again through it. */
  retainGraph?: boolean;
}

function copyOf(t: Tensor): Tensor {
  return copyTo(t, t._be, 'backward');
}

/** y += x for two gradients of one tensor; they live on its device (every op's backward returns them there). */
function accumulate(x: Tensor, y: Tensor): void {
  if (x._be !== y._be)
    throw new TensorboltError('backward', `internal: gradients of one tensor on '${x.device}' and '${y.device}'`);
  y._be.axpy(1, x.f32('backward'), y.f32('backward'));
}

/** loss.backward(): accumulates d(root)/d(leaf) into every leaf's .grad. */
export function backward(root: Tensor, dy?: Tensor, opts: BackwardOptions = {}): void {
  if (!(root instanceof Tensor)) throw new TensorboltError('backward', `expects a Tensor, got ${root === null ? 'null' : typeof root}`);
  if (opts === null || typeof opts !== 'object') throw new TensorboltError('backward', `options must be an object, got ${typeof opts}`);
  root.buf('backward');
  if (!root.requiresGrad)
    throw new TensorboltError('backward', `tensor #${root.id} ${fmtShape(root.shape)} does not require grad (no parameter in its graph has requiresGrad)`);
  let seed: Tensor;
  if (dy) {
    if (!(dy instanceof Tensor) || !shapesEqual(dy.shape, root.shape))
      throw new TensorboltError('backward', `gradient shape ${dy instanceof Tensor ? fmtShape(dy.shape) : typeof dy} does not match output shape ${fmtShape(root.shape)}`);
    if (dy._be !== root._be)
      throw new TensorboltError('backward', `the gradient is on '${dy.device}' but the output is on '${root.device}'; move one with .to('${root.device}')`);
    seed = dy;
  } else {
    if (root.size !== 1)
      throw new TensorboltError('backward', `a gradient is needed for non-scalar output ${fmtShape(root.shape)}; pass backward(dy) or reduce to a scalar first`);
    seed = empty(root._be, root.shape);
    root._be.fill(seed.f32('backward'), 1);
  }
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const owned = new Set<Tensor>(dy ? [] : [seed]); // gradients we created and must dispose
  const give = (t: Tensor): void => { owned.delete(t); };
  const outerQueue = queued;
  const callbacks: (() => void)[] = (queued = []);
  engine.gradDepth++;
  try {
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t._node;
      if (!node && t._released)
        throw new TensorboltError('backward', `tried to backward through the graph a second time (tensor #${t.id} ${fmtShape(t.shape)}); pass {retainGraph: true} to the first backward`);
      if (!node) {
        // A leaf: accumulate into .grad (in place when one exists).
        if (t.grad && !t.grad.isDisposed) {
          // a leaf moved to another device since its last backward (Module.to) brings its gradient along
          if (t.grad._be !== g._be) relocate(t.grad, g._be, 'backward');
          accumulate(g, t.grad);
        } else {
          const kept = owned.has(g) ? g : copyOf(g);
          give(kept);
          engine.keep(kept);
          t.grad = kept;
        }
        if (t._gradHooks) for (const h of t._gradHooks.slice()) h(t);
        continue;
      }
      const inGrads = node.backward(g);
      if (engine.debug) checkOpGradients(node.op, inGrads, g);
      let gUsed = false;
      const seen = new Set<Tensor>();
      const unused: Tensor[] = [];
      for (let i = 0; i < node.inputs.length; i++) {
        const x = node.inputs[i]!;
        let gx = inGrads[i];
        if (!gx) continue;
        if (!x.requiresGrad) {
          unused.push(gx);
          continue;
        }
        if (gx === g) {
          if (owned.has(g) && !gUsed) gUsed = true;
          else gx = copyOf(gx);
        } else if (seen.has(gx)) {
          gx = copyOf(gx);
        }
        seen.add(gx);
        if (!shapesEqual(gx.shape, x.shape))
          throw new TensorboltError('backward', `internal: gradient of '${node.op}' input ${i} has shape ${fmtShape(gx.shape)}, expected ${fmtShape(x.shape)}`);
        const prev = grads.get(x);
        if (prev && owned.has(prev)) {
          accumulate(gx, prev);
          give(gx);
          gx.dispose();
        } else if (prev) {
          const sum = copyOf(prev);
          accumulate(gx, sum);
          give(gx);
          gx.dispose();
          grads.set(x, sum);
          owned.add(sum);
        } else {
          grads.set(x, gx);
          owned.add(gx);
        }
      }
      for (const u of unused) if (u !== g && !seen.has(u)) u.dispose();
      if (owned.has(g) && !gUsed) {
        give(g);
        g.dispose();
      }
    }
  } finally {
    engine.gradDepth--;
    queued = outerQueue;
    for (const g of owned) g.dispose();
    if (!opts.retainGraph) releaseGraph(order);
  }
  // reached only when backward succeeded
  for (const cb of callbacks) cb();
}

function releaseGraph(order: Tensor[]): void {
  for (const t of order) {
    const node = t._node;
    if (!node) continue;
    for (const s of node.saved) s.dispose();
    t._node = null;
    t._released = true;
  }
}
