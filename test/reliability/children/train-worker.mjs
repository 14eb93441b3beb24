// worker_threads entry: loads the library (and with it the native addon) in this worker, runs one
// task, posts the result. workerData: { lib, task, op: 'train' | 'ops', ...options }.
import { parentPort, workerData } from 'node:worker_threads';

const tb = await import(workerData.lib);
if (workerData.op === 'ops') {
  // a few kernels of each family, on this thread's own addon instance
  const a = tb.tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tb.tensor([[1, 0], [0, 1], [1, 1]]);
  const m = tb.matmul(a, b);
  const s = tb.softmax(m);
  const c = tb.conv2d(tb.ones([1, 4, 4, 1]), tb.ones([2, 2, 1, 1]));
  parentPort.postMessage({ matmul: Array.from(m.dataSync()), softmax: Array.from(s.dataSync()), conv: Array.from(c.dataSync()), threads: tb.backendInfo().threads });
} else {
  const { train } = await import(workerData.task);
  parentPort.postMessage(await train(tb, workerData));
}
