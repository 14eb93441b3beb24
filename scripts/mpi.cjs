#!/usr/bin/env node
// Finds Open MPI for the native build of tb.distributed (native/dist). Used by binding.gyp
// (`<!@(node scripts/mpi.cjs defines)` etc.); CMakeLists.txt uses find_package(MPI) instead. Asks the
// compiler wrapper (`mpicc --showme:compile` / `--showme:link`), then pkg-config (ompi-c, ompi), and
// checks that mpi.h is really there. Prints nothing when MPI is absent or when TENSORBOLT_MPI=0
// (prebuilt binaries must not need libmpi): the addon then builds without tb.distributed, whose
// functions say how to get it.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const query = process.argv[2] || 'summary';

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function split(flags) {
  return flags.split(/\s+/).filter(Boolean);
}

function find() {
  if (process.env.TENSORBOLT_MPI === '0') return { reason: 'TENSORBOLT_MPI=0' };
  const mpicc = process.env.MPICC || 'mpicc';
  let cflags = run(mpicc, ['--showme:compile']);
  let lflags = cflags !== null ? run(mpicc, ['--showme:link']) : null;
  let via = mpicc;
  if (cflags === null || lflags === null) {
    for (const pkg of ['ompi-c', 'ompi']) {
      cflags = run('pkg-config', ['--cflags', pkg]);
      lflags = cflags !== null ? run('pkg-config', ['--libs', pkg]) : null;
      if (cflags !== null && lflags !== null) {
        via = `pkg-config ${pkg}`;
        break;
      }
    }
  }
  if (cflags === null || lflags === null) return { reason: 'not found (no mpicc, no pkg-config ompi)' };
  const inc = split(cflags).filter((f) => f.startsWith('-I')).map((f) => f.slice(2));
  if (!inc.concat(['/usr/include']).some((d) => fs.existsSync(path.join(d, 'mpi.h'))))
    return { reason: `${via} names no folder with mpi.h (install libopenmpi-dev)` };
  const libs = split(lflags).filter((f) => f.startsWith('-L') || f.startsWith('-l') || f.startsWith('-Wl,'));
  // Where libmpi lives outside the loader's default path (an /opt install), the addon finds it there.
  for (const f of split(lflags)) if (f.startsWith('-L')) libs.push(`-Wl,-rpath,${f.slice(2)}`);
  return { inc, libs, via };
}

const r = find();
if (!r.inc) {
  if (query === 'defines')
    process.stderr.write(`tensorbolt: Open MPI: ${r.reason}; building without tb.distributed. For it: apt-get install openmpi-bin libopenmpi-dev, then rebuild\n`);
  if (query === 'summary') console.log(`none: ${r.reason}`);
  process.exit(0);
}
switch (query) {
  case 'defines': console.log('TB_HAVE_MPI=1'); break;
  case 'include_dirs': console.log(r.inc.join(' ')); break;
  case 'libraries': console.log(r.libs.join(' ')); break;
  default: console.log(`mpi via ${r.via}: -I${r.inc.join(' -I')} ${r.libs.join(' ')}`);
}
