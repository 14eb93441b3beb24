#!/usr/bin/env node
// Builds build-cuda-emu/tensorbolt.node: the CUDA-capable addon with every CUDA kernel compiled as
// host C++ against the emulator in this folder (include/ and emu.cc), so that test/cuda can run on
// a machine with no GPU, no CUDA toolkit and no cuBLAS:
//
//   npm run test:cuda-emu     (this script, then vitest on test/cuda with TENSORBOLT_ADDON set)
//
// The kernel sources are copied and their launches `k<<<grid, block, smem, stream>>>(args)` rewritten
// to emu::Launch(...); nothing else changes. The emulator runs threads as fibers, one block at a
// time, so it checks indexing, reductions, barriers and shuffles, the binding and the runtime's
// bookkeeping; it cannot find races, memory-model bugs or performance problems. Those need a GPU.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..', '..', '..');
const out = path.join(root, 'build-cuda-emu');
const src = path.join(out, 'src');
const obj = path.join(out, 'obj');
const shim = path.join(__dirname, 'include');

// `kernel<<<cfg>>>(args)` -> `::emu::Launch([&] { kernel(args); }, cfg)`.
function rewriteLaunches(text, file) {
  let res = '';
  let i = 0;
  for (;;) {
    const j = text.indexOf('<<<', i);
    if (j < 0) return res + text.slice(i);
    let s = j;
    if (text[j - 1] === '>') {  // template arguments of the kernel
      let depth = 0;
      for (s = j - 1; s >= 0; s--) {
        if (text[s] === '>') depth++;
        else if (text[s] === '<' && --depth === 0) break;
      }
    }
    let e = s;
    while (e > 0 && /[\w:]/.test(text[e - 1])) e--;
    const kernel = text.slice(e, j);
    const k = text.indexOf('>>>', j);
    const cfg = text.slice(j + 3, k);
    let p = k + 3;
    while (/\s/.test(text[p])) p++;
    if (text[p] !== '(') throw new Error(`${file}: cannot parse the launch of ${kernel}`);
    let depth = 0;
    let q = p;
    for (; q < text.length; q++) {
      if (text[q] === '(') depth++;
      else if (text[q] === ')' && --depth === 0) break;
    }
    res += `${text.slice(i, e)}::emu::Launch([&] { ${kernel}(${text.slice(p + 1, q)}); }, ${cfg})`;
    i = q + 1;
  }
}

function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, f.name);
    const b = path.join(to, f.name);
    if (f.isDirectory()) copyTree(a, b);
    else if (/\.(cu|cuh)$/.test(f.name)) fs.writeFileSync(b, rewriteLaunches(fs.readFileSync(a, 'utf8'), a));
    else fs.copyFileSync(a, b);
  }
}

function run(jobs, limit) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed = false;
    const launch = () => {
      if (failed) return;
      if (next === jobs.length && running === 0) return resolve();
      while (running < limit && next < jobs.length) {
        const [label, cmd, args] = jobs[next++];
        running++;
        const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('close', (code) => {
          running--;
          if (code !== 0) {
            failed = true;
            reject(new Error(`cuda-emu: compiling ${label} failed`));
          } else launch();
        });
      }
    };
    launch();
  });
}

async function main() {
  const t0 = Date.now();
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(obj, { recursive: true });
  copyTree(path.join(root, 'native'), path.join(src, 'native'));
  const cxx = process.env.CXX || 'c++';
  const blas = (what) => execFileSync('node', [path.join(root, 'scripts', 'openblas.cjs'), what], { encoding: 'utf8' })
    .trim().split(/\s+/).filter(Boolean);
  // tb.distributed too where MPI is found (as the real builds do), so device tensors' collectives run here
  const mpi = (what) => execFileSync('node', [path.join(root, 'scripts', 'mpi.cjs'), what], { encoding: 'utf8' })
    .trim().split(/\s+/).filter(Boolean);
  // ... and, with MPI, the NCCL engine over nccl_emu.cc (NCCL's API emulated over MPI), so that device
  // tensors' NCCL path runs here too; its declarations are the ones `npm run check:nccl` uses
  const withMpi = mpi('defines').includes('TB_HAVE_MPI=1');
  const ncclFlags = withMpi ? ['-DTB_HAVE_NCCL=1', '-I', path.join(root, 'scripts', 'nccl-decls')] : [];
  const nodeInc = ['node-addon-api', 'node-api-headers'].map((p) => require(require.resolve(p, { paths: [root] })).include_dir);
  const common = ['-std=c++17', '-O1', '-fPIC', '-fopenmp', '-w', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS',
    '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DTENSORBOLT_CUDA=1', ...blas('defines').map((d) => `-D${d}`),
    '-I', shim, '-I', path.join(src, 'native'), ...nodeInc.flatMap((d) => ['-I', d]),
    ...blas('include_dirs').flatMap((d) => ['-I', d]), ...mpi('defines').map((d) => `-D${d}`),
    ...mpi('include_dirs').flatMap((d) => ['-I', d]), ...ncclFlags];
  // An object is rebuilt when its source, any header, the emulator or this script is newer.
  const mtime = (f) => fs.statSync(f).mtimeMs;
  const newest = (dir, re) => fs.readdirSync(dir, { withFileTypes: true }).reduce((m, f) => {
    const p = path.join(dir, f.name);
    return Math.max(m, f.isDirectory() ? newest(p, re) : re.test(f.name) ? mtime(p) : 0);
  }, 0);
  const deps = Math.max(newest(path.join(root, 'native'), /\.(h|cuh|inc)$/), newest(__dirname, /\.(h|cjs)$/));
  const jobs = [];
  const objects = [];
  const add = (file, lang, original) => {
    const o = path.join(obj, path.relative(src, file).replace(/[\\/]/g, '_') + '.o');
    objects.push(o);
    if (fs.existsSync(o) && mtime(o) > Math.max(deps, mtime(original))) return;
    jobs.push([path.relative(src, file), cxx, [...(lang ? ['-x', lang] : []), ...common, '-c', file, '-o', o]]);
  };
  for (const dir of ['common', 'cpu', 'napi', 'napi/cuda', 'cuda', 'dist']) {
    const d = path.join(src, 'native', dir);
    for (const f of fs.readdirSync(d).sort()) {
      const original = path.join(root, 'native', dir, f);
      if (f.endsWith('.cc')) add(path.join(d, f), null, original);
      else if (f.endsWith('.cu')) add(path.join(d, f), 'c++', original);
    }
  }
  for (const f of ['emu.cc', ...(withMpi ? ['nccl_emu.cc'] : [])]) {
    const o = path.join(obj, f.replace(/\.cc$/, '.o'));
    objects.push(o);
    if (!fs.existsSync(o) || mtime(o) < Math.max(deps, mtime(path.join(__dirname, f))))
      jobs.push([f, cxx, [...common, '-c', path.join(__dirname, f), '-o', o]]);
  }
  const limit = Math.max(1, Number(process.env.TB_CHECK_JOBS) || os.cpus().length);
  await run(jobs, limit);
  // Objects of sources that no longer exist are removed, never linked.
  for (const f of fs.readdirSync(obj)) if (!objects.includes(path.join(obj, f))) fs.rmSync(path.join(obj, f));
  execFileSync(cxx, ['-shared', '-fopenmp', '-o', path.join(out, 'tensorbolt.node'), ...objects, ...blas('libraries'), ...mpi('libraries')],
    { stdio: 'inherit' });
  console.log(`cuda-emu: built ${path.relative(root, path.join(out, 'tensorbolt.node'))} (${jobs.length} files compiled) ` +
    `in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
