#!/usr/bin/env node
// `npm run check:nccl`: compile-checks tb.distributed's NCCL engine (native/dist/nccl_communicator.cc
// and the NCCL part of native/napi/dist_napi.cc with its routing of CUDA device buffers, both only
// built with TB_HAVE_NCCL) where there is no NCCL or no GPU. Uses NCCL's own nccl.h when found (NCCL_HOME/include, the CUDA toolkit's include
// folder), else scripts/nccl-decls/nccl.h (its documented declarations); needs cuda_runtime.h and
// mpi.h. Syntax and types only: nothing is linked or run. Skips, saying why, when a header is missing.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const cxx = process.env.CXX || 'c++';
const skip = (why) => {
  console.log(`check:nccl skipped: ${why}`);
  process.exit(0);
};
const has = (dir, f) => dir && fs.existsSync(path.join(dir, f));

const cudaDirs = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].filter(Boolean).map((d) => path.join(d, 'include'));
const cudaInc = cudaDirs.find((d) => has(d, 'cuda_runtime.h'));
if (!cudaInc) skip('no cuda_runtime.h (CUDA_HOME/include, /usr/local/cuda/include)');
const ncclReal = [process.env.NCCL_HOME && path.join(process.env.NCCL_HOME, 'include'), cudaInc].find((d) => has(d, 'nccl.h'));
const ncclInc = ncclReal || path.join(__dirname, 'nccl-decls');
let mpiFlags;
try {
  mpiFlags = execFileSync(process.env.MPICC || 'mpicc', ['--showme:compile'], { encoding: 'utf8' }).trim().split(/\s+/);
} catch {
  skip('no mpicc (apt-get install libopenmpi-dev): the NCCL engine rides on MPI');
}
const nodeInc = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
const addonInc = require(require.resolve('node-addon-api', { paths: [root] })).include_dir;

const files = ['native/dist/nccl_communicator.cc'];
if (has(nodeInc, 'node_api.h')) files.push('native/napi/dist_napi.cc');
else console.log(`check:nccl: no node headers in ${nodeInc}; native/napi/dist_napi.cc not checked`);
let failed = 0;
for (const f of files) {
  const args = ['-std=c++17', '-fsyntax-only', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror',
    '-DTB_HAVE_MPI=1', '-DTB_HAVE_NCCL=1', '-DTENSORBOLT_CUDA=1', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    `-I${path.join(root, 'native')}`, `-I${ncclInc}`, `-I${cudaInc}`, `-I${addonInc}`, `-I${nodeInc}`, ...mpiFlags, path.join(root, f)];
  const r = spawnSync(cxx, args, { encoding: 'utf8' });
  if (r.status === 0) console.log(`check:nccl: ${f} compiles (nccl.h from ${ncclReal ? ncclInc : 'scripts/nccl-decls'})`);
  else {
    failed++;
    process.stderr.write(`check:nccl: ${f} does not compile:\n${r.stderr}\n`);
  }
}
process.exit(failed ? 1 : 0);
