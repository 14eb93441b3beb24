#!/usr/bin/env node
// Finds OpenBLAS for the native build. Used by binding.gyp (`<!@(node scripts/openblas.cjs libraries)`)
// and by CMakeLists.txt. Prints nothing for any query when OpenBLAS is absent or when
// TENSORBOLT_GEMM=portable, so the addon builds with our portable GEMM instead.
// TENSORBOLT_OPENBLAS_STATIC=1 links libopenblas.a (for prebuilds that must not need the .so); it is
// then an error, not a silent fallback to the portable GEMM, when no libopenblas.a is found.
'use strict';
const fs = require('fs');
const path = require('path');

const query = process.argv[2] || 'summary';

function find() {
  if ((process.env.TENSORBOLT_GEMM || '').toLowerCase() === 'portable') return { reason: 'TENSORBOLT_GEMM=portable' };
  const roots = [];
  if (process.env.OPENBLAS_HOME) roots.push(process.env.OPENBLAS_HOME);
  const multiarch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  // Debian/Ubuntu install per-threading-model folders; prefer the pthread build (our own loops use
  // OpenMP, and we size both pools together at run time).
  const cands = [];
  for (const variant of ['openblas-pthread', 'openblas-openmp', 'openblas-serial']) {
    cands.push({ inc: `/usr/include/${multiarch}/${variant}`, lib: `/usr/lib/${multiarch}/${variant}` });
  }
  for (const r of roots) cands.unshift({ inc: path.join(r, 'include'), lib: path.join(r, 'lib') });
  cands.push({ inc: '/usr/include/openblas', lib: `/usr/lib/${multiarch}` });
  cands.push({ inc: '/usr/local/include', lib: '/usr/local/lib' });
  cands.push({ inc: '/opt/OpenBLAS/include', lib: '/opt/OpenBLAS/lib' });
  const wantStatic = process.env.TENSORBOLT_OPENBLAS_STATIC === '1';
  for (const c of cands) {
    if (!fs.existsSync(path.join(c.inc, 'cblas.h'))) continue;
    const so = path.join(c.lib, 'libopenblas.so');
    const a = path.join(c.lib, 'libopenblas.a');
    // --exclude-libs keeps OpenBLAS's symbols out of the addon's dynamic symbol table, so another
    // BLAS in the same process (numpy through a bridge, another addon) can neither see nor
    // interpose ours. Only the CBLAS objects we call are pulled from the archive; they need libm and
    // pthreads, not libgfortran (the Fortran LAPACK objects that do are never pulled in), which
    // scripts/check-prebuild.cjs verifies on the result.
    if (wantStatic && fs.existsSync(a)) return { inc: c.inc, libs: [a, '-Wl,--exclude-libs,ALL', '-lpthread', '-lm'], kind: 'static' };
    if (!wantStatic && fs.existsSync(so)) return { inc: c.inc, libs: [`-L${c.lib}`, '-lopenblas', `-Wl,-rpath,${c.lib}`], kind: 'shared' };
  }
  return { reason: wantStatic ? 'static-missing' : 'not found' };
}

const r = find();
if (r.reason === 'static-missing') {
  process.stderr.write(
    'tensorbolt: TENSORBOLT_OPENBLAS_STATIC=1 but no libopenblas.a next to a cblas.h was found ' +
      '(looked in OPENBLAS_HOME and the Debian/Ubuntu openblas folders). Install it with ' +
      '`apt-get install libopenblas-dev`, or set OPENBLAS_HOME to a prefix holding include/cblas.h and lib/libopenblas.a.\n',
  );
  process.exit(1);
}
if (!r.inc) {
  if (query === 'defines') {
    process.stderr.write(
      `tensorbolt: OpenBLAS ${r.reason === 'not found' ? 'not found' : 'disabled (' + r.reason + ')'}; ` +
        'building the portable GEMM. For the fast path: apt-get install libopenblas-dev, then npm rebuild tensorbolt\n',
    );
  }
  if (query === 'summary') console.log('portable');
  process.exit(0);
}
switch (query) {
  case 'defines': console.log('TB_HAVE_OPENBLAS=1'); break;
  case 'include_dirs': console.log(r.inc); break;
  case 'libraries': console.log(r.libs.join(' ')); break;
  case 'cmake': console.log(`${r.inc};${r.libs.join(';')}`); break;
  default: console.log(`openblas (${r.kind}) ${r.inc}`);
}
