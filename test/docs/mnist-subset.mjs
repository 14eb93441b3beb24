// Preloaded (node --import) into the programs the docs tests run, and into their worker threads:
// datasets.mnist() hands out the first images of each split only, so a snippet that trains on
// MNIST runs in seconds. The snippet's own code runs unchanged.
import * as tb from 'tensorbolt';

const trainN = Number(process.env.TB_DOCS_MNIST_TRAIN ?? 2000);
const testN = Number(process.env.TB_DOCS_MNIST_TEST ?? 1000);

function head(split, n) {
  const images = split.images.slice([0, 0, 0, 0], [n, -1, -1, -1]);
  const labels = split.labels.slice([0], [n]);
  split.images.dispose();
  split.labels.dispose();
  return { images, labels };
}

const { mnist, mnistSync } = tb.datasets;
const shrink = (d) => ({ train: head(d.train, trainN), test: head(d.test, testN) });
tb.datasets.mnist = async (opts) => shrink(await mnist(opts));
tb.datasets.mnistSync = (opts) => shrink(mnistSync(opts));
