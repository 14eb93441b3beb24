#!/usr/bin/env node
// `npm run test:asan`: builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into its
// own folder (build-asan/, never build/), then runs the op, nn, native-boundary, optimizer and fuzz
// tests with that addon loaded into node, and fails on a failing test or on any sanitizer report.
// The op and optimizer tests run every CPU kernel under each instruction set this machine has
// (test/helpers/opcheck.ts), so the sanitizers see every set's kernels.
//
// node itself is not instrumented, so the ASan runtime must be the first library in the process:
// it is preloaded (LD_PRELOAD) from the compiler that built the addon. Leak detection is off
// (detect_leaks=0): at exit node and V8 deliberately leave their heaps, isolates and thread pools
// to the OS instead of freeing them, so LeakSanitizer would report thousands of allocations that
// are not ours. Leaks of our own are covered by the memory tests (test/reliability), which count
// live tensors and watch RSS. Reports go to files (log_path) so that none can hide in the output
// of a forked test worker; a report from any process fails the run.
//
// Extra arguments are passed to vitest (e.g. `npm run test:asan -- test/native`).
'use strict';
const { spawn, spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const buildDir = 'build-asan';
const addon = path.join(root, buildDir, 'Release', 'tensorbolt.node');
const reports = path.join(root, buildDir, 'reports');

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: env ?? process.env });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

// 1. Build (incremental: cmake-js keeps build-asan/ between runs).
// cmake-js downloads node's headers unless npm's nodedir is set (npm run sets it from .npmrc); run
// directly, point it at the running node's own headers when they are installed next to it.
const buildEnv = { ...process.env };
const prefix = path.dirname(path.dirname(process.execPath));
if (!buildEnv.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) buildEnv.npm_config_nodedir = prefix;
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
if (run(process.execPath, [cmakeJs, 'compile', '-O', buildDir, '--CDTB_SANITIZE=ON'], buildEnv) !== 0) {
  console.error('test:asan: the sanitizer build failed');
  process.exit(1);
}

// 2. The ASan runtime of the compiler that built the addon.
const cxx = process.env.CXX || 'g++';
const libasan = execFileSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
if (!path.isAbsolute(libasan) || !fs.existsSync(libasan)) {
  console.error(`test:asan: ${cxx} does not know its libasan.so (got '${libasan}'); install the compiler's ASan runtime`);
  process.exit(1);
}

fs.rmSync(reports, { recursive: true, force: true });
fs.mkdirSync(reports, { recursive: true });
const env = {
  ...process.env,
  LD_PRELOAD: [libasan, process.env.LD_PRELOAD].filter(Boolean).join(' '),
  TENSORBOLT_ADDON: addon,
  ASAN_OPTIONS: [`log_path=${path.join(reports, 'asan')}`, 'detect_leaks=0', 'allow_user_segv_handler=1', process.env.ASAN_OPTIONS]
    .filter(Boolean).join(':'),
  UBSAN_OPTIONS: [`log_path=${path.join(reports, 'ubsan')}`, 'print_stacktrace=1', process.env.UBSAN_OPTIONS].filter(Boolean).join(':'),
};

// 3. A sanity check first: the instrumented addon really is the one loaded, with the runtime mapped.
const probe = spawnSync(process.execPath, ['-e', `
  const a = require(${JSON.stringify(addon)});
  const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
  if (!/libasan/.test(maps)) { console.error('libasan is not mapped'); process.exit(2); }
  if (typeof a.gemm !== 'function') { console.error('the addon did not load'); process.exit(3); }
`], { cwd: root, env, stdio: 'inherit' });
if (probe.status !== 0) {
  console.error('test:asan: the sanitizer runtime or the addon did not load');
  process.exit(1);
}

// 4. The tests. Their output is passed through and scanned as well: UBSan (a separate runtime from
// ASan under GCC) writes to stderr whatever log_path says, and vitest relays workers' stderr.
const suites = ['test/ops', 'test/nn', 'test/native', 'test/fuzz', 'test/reliability/numerics.test.ts', 'test/reliability/workers.test.ts', 'test/reliability/detach.test.ts', 'test/optim/optimizers.test.ts'].filter((d) => fs.existsSync(path.join(root, d)));
const extra = process.argv.slice(2);
const vitest = require.resolve('vitest/vitest.mjs', { paths: [root] });
const child = spawn(process.execPath, [vitest, 'run', ...(extra.length ? extra : suites)], { cwd: root, env, stdio: ['inherit', 'pipe', 'pipe'] });
const REPORT = /runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer/;
const inOutput = [];
for (const [stream, sink] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
  let tail = '';
  stream.on('data', (chunk) => {
    sink.write(chunk);
    const text = tail + chunk.toString('utf8');
    const lines = text.split('\n');
    tail = lines.pop();
    for (const l of lines) if (REPORT.test(l)) inOutput.push(l.trim());
  });
}
child.on('close', (code) => {
  const files = fs.readdirSync(reports);
  for (const f of files) {
    console.error(`\n==== ${f} ====`);
    console.error(fs.readFileSync(path.join(reports, f), 'utf8'));
  }
  const n = files.length + inOutput.length;
  if (inOutput.length) console.error(`\ntest:asan: sanitizer reports in the test output:\n  ${inOutput.join('\n  ')}`);
  if (files.length) console.error(`test:asan: ${files.length} sanitizer report file(s) in ${path.relative(root, reports)}/`);
  if (n === 0) console.log(`test:asan: zero sanitizer reports (${extra.length ? extra.join(' ') : suites.join(' ')})`);
  process.exit(code !== 0 || n > 0 ? 1 : 0);
});
