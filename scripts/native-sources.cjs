#!/usr/bin/env node
// The single list of native sources: every .cc under native/common, native/cpu, native/napi and
// native/dist (whose MPI and NCCL parts compile to nothing unless TB_HAVE_MPI / TB_HAVE_NCCL).
// binding.gyp expands it with `<!@(node scripts/native-sources.cjs)`; CMakeLists.txt globs the same
// folders. Paths are relative to the package root, with forward slashes.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const dirs = ['native/common', 'native/cpu', 'native/napi', 'native/dist'];
const out = [];
for (const d of dirs) {
  const abs = path.join(root, d);
  if (!fs.existsSync(abs)) continue;
  for (const f of fs.readdirSync(abs).sort()) if (f.endsWith('.cc')) out.push(`${d}/${f}`);
}
console.log(out.join(' '));
