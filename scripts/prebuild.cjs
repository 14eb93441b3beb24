#!/usr/bin/env node
// Builds the prebuilt CPU addon that ships in the npm package (`npm run prebuildify`), then checks it:
//   prebuilds/<platform>-<arch>/tensorbolt.node (an N-API build: one file for every node version), with
//   OpenBLAS linked statically and a portable -march.
// `node scripts/prebuild.cjs --check` only runs the checks on an existing prebuild.
//
// Why x86-64-v2 and not v3: OpenBLAS (Debian's is built with DYNAMIC_ARCH) picks its GEMM kernels for
// the CPU it runs on, so the GEMM that dominates training is as fast as a native build on any CPU.
// The -march flag only changes how our own loops (elementwise, reductions, im2col, pooling,
// optimizer updates) are auto-vectorised. v3 (AVX2/FMA) would crash with SIGILL on pre-Haswell
// CPUs, Atom/Celeron/Pentium parts of later years, and VMs whose virtual CPU hides AVX; v2 (SSE4.2,
// POPCNT) runs on every x86-64 CPU since Intel Nehalem (2008) and AMD Bulldozer (2011). Users who want AVX2/AVX-512 in our loops
// build from source: `npm rebuild tensorbolt --build-from-source` uses -march=native.
// TENSORBOLT_MARCH overrides the choice.
//
// Why libgomp stays a shared library: a static libgomp inside a dlopen()ed addon is a second OpenMP
// runtime in a process that may already have one (other addons), with its own thread pool, and
// libgomp's initial-exec TLS can fail to fit in the static TLS block when loaded late. libgomp.so.1
// comes with every GCC runtime (Debian/Ubuntu: package libgomp1).
'use strict';
const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const platformDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);

// Shared libraries the prebuild may need: the C and C++ runtimes and the OpenMP runtime.
const ALLOWED = /^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libgomp\.so\.1)$/;

function fail(msg) {
  process.stderr.write(`prebuild: ${msg}\n`);
  process.exit(1);
}

function build() {
  // No MPI in a prebuild: it would need libmpi on every user's machine (tb.distributed says to build from source)
  const env = { ...process.env, TENSORBOLT_OPENBLAS_STATIC: '1', TENSORBOLT_MPI: '0' };
  env.TENSORBOLT_MARCH ??= process.arch === 'x64' ? 'x86-64-v2' : 'armv8-a';
  // Build against the headers of the running node (N-API is forward compatible, NAPI_VERSION is
  // pinned in binding.gyp); when they are installed with node, node-gyp needs no download.
  const nodeInclude = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node', 'node_api.h');
  if (!env.npm_config_nodedir && fs.existsSync(nodeInclude)) env.npm_config_nodedir = path.dirname(path.dirname(process.execPath));
  const bin = require.resolve('prebuildify/bin.js');
  const args = [bin, '--napi', '--strip', '--target', process.versions.node];
  // prebuildify rebuilds build/ and moves the result out of it; keep a developer's own build
  // (node-gyp-build prefers build/Release, usually a faster -march=native build) where it was.
  const devBuild = path.join(root, 'build', 'Release', 'tensorbolt.node');
  const kept = fs.existsSync(devBuild) ? fs.readFileSync(devBuild) : null;
  console.log(`prebuild: prebuildify --napi --strip (TENSORBOLT_MARCH=${env.TENSORBOLT_MARCH}, OpenBLAS static)`);
  const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
  if (kept) {
    fs.mkdirSync(path.dirname(devBuild), { recursive: true });
    fs.writeFileSync(devBuild, kept);
    console.log('prebuild: restored the development build in build/Release');
  }
  if (r.status !== 0) fail(`prebuildify failed (exit ${r.status ?? r.signal})`);
}

function check() {
  if (!fs.existsSync(platformDir)) fail(`${path.relative(root, platformDir)} does not exist; run npm run prebuildify`);
  const files = fs.readdirSync(platformDir).filter((f) => f.endsWith('.node'));
  if (files.length === 0) fail(`no .node file in ${path.relative(root, platformDir)}`);
  for (const f of files) {
    const file = path.join(platformDir, f);
    const rel = path.relative(root, file);
    console.log(`prebuild: ${rel}  ${(fs.statSync(file).size / 1048576).toFixed(1)} MiB`);

    const ldd = execFileSync('ldd', [file], { encoding: 'utf8' });
    console.log(ldd.replace(/^/gm, '    ').trimEnd());
    const libs = ldd.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean).map((l) => path.basename(l));
    const bad = libs.filter((l) => !ALLOWED.test(l));
    if (bad.length) fail(`${rel} needs shared libraries a user may not have: ${bad.join(', ')}`);
    if (/not found/.test(ldd)) fail(`${rel}: a shared library is not found (see ldd above)`);

    // Undefined symbols with no version come from nothing we link: fine for N-API (the node binary
    // provides them), fatal for anything else (e.g. libgfortran's, had a LAPACK object come along).
    const undef = execFileSync('nm', ['-D', '--undefined-only', file], { encoding: 'utf8' })
      .split('\n').map((l) => l.trim().split(/\s+/).pop()).filter(Boolean);
    const orphans = undef.filter((s) => !s.includes('@') && !/^(napi_|node_api_|uv_|_ITM_|__gmon_start__|__cxa_finalize)/.test(s));
    if (orphans.length) fail(`${rel} has undefined symbols no listed library provides: ${orphans.slice(0, 10).join(', ')}`);
    const exported = execFileSync('nm', ['-D', '--defined-only', file], { encoding: 'utf8' });
    if (/\b(cblas_sgemm|sgemm_|openblas_get_config)\b/.test(exported)) fail(`${rel} exports OpenBLAS symbols (--exclude-libs missing)`);

    // The newest symbol versions it asks of the system libraries (the oldest distribution it loads on).
    const newest = {};
    for (const m of undef.join('\n').matchAll(/@+(GLIBC|GLIBCXX|CXXABI|GCC|GOMP|OMP)_([\d.]+)/g)) {
      const v = m[2].split('.').map(Number);
      const cur = newest[m[1]];
      if (!cur || cmp(v, cur) > 0) newest[m[1]] = v;
    }
    console.log('    needs at least: ' + Object.entries(newest).map(([k, v]) => `${k}_${v.join('.')}`).join(', '));

    // It must load and report OpenBLAS, in a fresh process (not this one's module cache).
    const probe = spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(file)}); console.log(JSON.stringify(b.info()))`], { encoding: 'utf8' });
    if (probe.status !== 0) fail(`${rel} does not load: ${probe.stderr.trim()}`);
    const info = JSON.parse(probe.stdout);
    if (!info.openblas) fail(`${rel} was built without OpenBLAS: ${probe.stdout.trim()}`);
    console.log(`    loads: gemm=${info.gemm} openmp=${info.openmp} ${info.openblasConfig}`);

    // Built for x86-64-v2, it still runs the widest kernels the CPU has, and each set's kernels
    // compute what a float64 reference does.
    const isa = spawnSync(process.execPath, [path.join(__dirname, 'prebuild-isa-check.cjs'), file], { encoding: 'utf8' });
    if (isa.status !== 0) fail(`${rel}: ${(isa.stderr || isa.stdout).trim()}`);
    console.log(isa.stdout.trimEnd().replace(/^/gm, '    '));
  }
}

function cmp(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

if (process.platform !== 'linux') fail('prebuilds are made on Linux only (ldd, nm)');
if (!process.argv.includes('--check')) build();
check();
