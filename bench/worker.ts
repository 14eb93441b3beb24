// One measurement in a fresh process (so peers never share a heap, a thread pool or a peak RSS):
//   node dist/bench/worker.js '<json spec>'   (see protocol.ts)
// Prints the result as one JSON line tagged with RESULT_TAG.
import { RESULT_TAG, type Spec } from './protocol.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as Spec;
  let result: unknown;
  if (spec.framework === 'tensorbolt') {
    const w = await import('./tb_workloads.js');
    if (spec.task === 'train' && spec.style === 'torch') result = await (await import('./tb_torchstyle.js')).tbTrainTorchStyle(spec);
    else result = spec.task === 'train' ? await w.tbTrain(spec) : spec.task === 'conv' ? w.tbConv(spec)
      : spec.task === 'cudaGemm' ? w.tbCudaGemm(spec) : w.tbGemm(spec);
  } else if (spec.task === 'train') {
    const { tfjsTrain } = await import('./tfjs_peer.js');
    result = await tfjsTrain(spec);
  } else {
    throw new Error(`no ${(spec as Spec).task} task for ${(spec as Spec).framework}`);
  }
  process.stdout.write(RESULT_TAG + JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
