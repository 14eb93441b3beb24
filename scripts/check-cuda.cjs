#!/usr/bin/env node
// `npm run check:cuda`: compile-checks the CUDA backend where CUDA is only partly installed (nvcc and
// cudart, no GPU, perhaps no cuBLAS), as on CI. Every native/cuda/*.cu is compiled with nvcc for
// sm_80 and sm_90 (-c, warnings are errors); a file that includes cuBLAS is compiled when the
// cuBLAS headers are found and otherwise reported as skipped. The N-API layer (native/napi/*.cc and
// native/napi/cuda/*.cc) is compiled with the host compiler and TENSORBOLT_CUDA, as the CUDA build
// compiles it (its CUDA half is built only then).
// Nothing is linked and nothing runs: this proves the code compiles, not that it is right (the
// op tests in test/cuda do that on a GPU).
//
// Environment: CUDACXX (nvcc to use), TB_CUDA_ARCHS (default "80,90"), TB_CHECK_JOBS (parallel
// compiles, default: the number of cores), CXX (host compiler for the N-API layer, default c++).
'use strict';
const { execFileSync, spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const rel = (p) => path.relative(root, p).split(path.sep).join('/');

function findNvcc() {
  const candidates = [];
  if (process.env.CUDACXX) candidates.push(process.env.CUDACXX);
  for (const dir of (process.env.PATH || '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nvcc'));
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(path.join(process.env[v], 'bin', 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      // next candidate
    }
  }
  return null;
}

// The include directories nvcc itself uses (its --dryrun plan, printed on stderr), where cuBLAS's
// headers would be when the toolkit has them.
function nvccIncludeDirs(nvcc, tmp) {
  const probe = path.join(tmp, 'probe.cu');
  fs.writeFileSync(probe, '');
  const r = spawnSync(nvcc, ['--dryrun', '-c', probe, '-o', path.join(tmp, 'probe.o')], { encoding: 'utf8' });
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  const dirs = new Set();
  for (const m of out.matchAll(/-I"?([^"\s]+)"?/g)) dirs.add(path.resolve(m[1]));
  for (const m of out.matchAll(/TOP=(\S+)/g)) dirs.add(path.resolve(m[1], 'include'));
  for (const v of ['CUBLAS_INCLUDE_DIR', 'CPATH', 'CPLUS_INCLUDE_PATH'])
    for (const d of (process.env[v] || '').split(path.delimiter)) if (d) dirs.add(path.resolve(d));
  dirs.add('/usr/include');
  return [...dirs];
}

function nodeIncludes() {
  const dirs = [];
  for (const pkg of ['node-addon-api', 'node-api-headers']) {
    try {
      dirs.push(require(require.resolve(pkg, { paths: [root] })).include_dir);
    } catch {
      return null;
    }
  }
  return dirs;
}

// Runs jobs ({label, cmd, args}) with at most `limit` at a time; resolves to [{job, code, output, secs}].
function runAll(jobs, limit) {
  return new Promise((resolve) => {
    const results = new Array(jobs.length);
    let next = 0;
    let running = 0;
    let done = 0;
    if (jobs.length === 0) resolve(results);
    const launch = () => {
      while (running < limit && next < jobs.length) {
        const i = next++;
        const job = jobs[i];
        const t0 = Date.now();
        const child = spawn(job.cmd, job.args, { cwd: root });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        running++;
        const finish = (code) => {
          results[i] = { job, code, output, secs: (Date.now() - t0) / 1000 };
          const status = code === 0 ? 'ok  ' : 'FAIL';
          console.log(`${status} ${job.label} (${results[i].secs.toFixed(1)}s)`);
          if (code !== 0) console.log(output.trim().split('\n').map((l) => `     ${l}`).join('\n'));
          running--;
          if (++done === jobs.length) resolve(results);
          else launch();
        };
        child.on('error', (e) => {
          output += String(e);
          finish(127);
        });
        child.on('close', (code) => finish(code ?? 1));
      }
    };
    launch();
  });
}

async function main() {
  const nvcc = findNvcc();
  if (!nvcc) {
    console.error('check:cuda: nvcc not found (set CUDACXX, put nvcc on PATH or install the CUDA toolkit under /usr/local/cuda)');
    process.exit(1);
  }
  const version = (execFileSync(nvcc, ['--version'], { encoding: 'utf8' }).match(/release [\d.]+/) || ['release ?'])[0];
  const archs = (process.env.TB_CUDA_ARCHS || '80,90').split(',').map((s) => s.trim()).filter(Boolean);
  const jobsLimit = Math.max(1, Number(process.env.TB_CHECK_JOBS) || os.cpus().length);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-check-cuda-'));
  const includeDirs = nvccIncludeDirs(nvcc, tmp);
  const cublasDir = includeDirs.find((d) => fs.existsSync(path.join(d, 'cublas_v2.h')));
  const cudaDir = includeDirs.find((d) => fs.existsSync(path.join(d, 'cuda_runtime_api.h')));
  console.log(`check:cuda: ${nvcc} (${version}), sm_${archs.join(' + sm_')}, ${jobsLimit} parallel`);
  console.log(`check:cuda: cuBLAS headers ${cublasDir ? `in ${cublasDir}` : 'not found'}`);

  const cudaSrc = path.join(root, 'native', 'cuda');
  const sources = fs.readdirSync(cudaSrc).filter((f) => f.endsWith('.cu')).sort().map((f) => path.join(cudaSrc, f));
  const jobs = [];
  const skipped = [];
  const gencode = archs.flatMap((a) => ['-gencode', `arch=compute_${a},code=sm_${a}`]);
  for (const src of sources) {
    const needsBlas = /#include\s*<cublas/.test(fs.readFileSync(src, 'utf8'));
    if (needsBlas && !cublasDir) {
      skipped.push(src);
      console.log(`skip ${rel(src)}: needs cuBLAS, whose headers (cublas_v2.h) are not installed here; ` +
        'it is compiled by `npm run build:cuda` or by this check where cuBLAS is installed');
      continue;
    }
    jobs.push({
      label: `${rel(src)} [nvcc sm_${archs.join(',')}]`,
      cmd: nvcc,
      args: ['-std=c++17', '-O3', '-c', '-I', path.join(root, 'native'), ...gencode,
        '-Werror', 'all-warnings', '-Xcompiler', '-Wall,-Werror',
        '-o', path.join(tmp, path.basename(src, '.cu') + '.o'), src],
    });
  }

  // The binding with its CUDA half: every kernel's binding (native/napi/*.cc, one template for both
  // devices) and the device runtime (native/napi/cuda/*.cc), as a TENSORBOLT_CUDA build compiles them.
  const napiSources = [path.join(root, 'native', 'napi'), path.join(root, 'native', 'napi', 'cuda')]
    .filter((d) => fs.existsSync(d))
    .flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith('.cc')).sort().map((f) => path.join(d, f)));
  const nodeInc = nodeIncludes();
  if (napiSources.length && (!nodeInc || !cudaDir)) {
    for (const src of napiSources) skipped.push(src);
    console.log(`skip native/napi/**/*.cc: ${!nodeInc ? 'node-addon-api / node-api-headers are not installed (npm ci)' : 'cuda_runtime_api.h not found'}`);
  } else {
    const cxx = process.env.CXX || 'c++';
    for (const src of napiSources)
      jobs.push({
        label: `${rel(src)} [${cxx}]`,
        cmd: cxx,
        args: ['-std=c++17', '-fsyntax-only', '-Wall', '-Wno-unused-parameter', '-Werror', '-DNAPI_VERSION=8',
          '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DTENSORBOLT_CUDA=1',
          '-I', path.join(root, 'native'), ...nodeInc.flatMap((d) => ['-I', d]), '-I', cudaDir, src],
      });
  }

  const results = await runAll(jobs, jobsLimit);
  fs.rmSync(tmp, { recursive: true, force: true });
  const failed = results.filter((r) => r.code !== 0).length;
  console.log(`check:cuda: ${results.length - failed} compiled, ${skipped.length} skipped, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
