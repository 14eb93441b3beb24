#!/usr/bin/env node
// Checks what the npm package holds against what the README promises: the prebuilt addon (so that
// `npm install tensorbolt` on Linux x64 compiles nothing), the compiled library and its types, the
// CLI, the docs and examples the README links to, and the license; and no build trees.
//   node scripts/pack-check.cjs                  the files `npm pack` would pack now (dry run)
//   node scripts/pack-check.cjs --tarball FILE   the files of a packed tarball
// prepublishOnly runs it (after building the prebuild), so a publish without the prebuild stops.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const REQUIRED = [
  'prebuilds/linux-x64/tensorbolt.node',
  'dist/lib/index.js',
  'dist/lib/index.d.ts',
  'dist/lib/cli.js',
  'binding.gyp',
  'docs/api/README.md',
  'docs/data.md',
  'docs/workers.md',
  'examples/pytorch-mlp.ts',
  'LICENSE',
  'README.md',
  'package.json',
];
const FORBIDDEN = ['build/', 'build-cmake/', 'build-asan/', 'build-cuda/', 'build-cuda-emu/', 'node_modules/', '.test-bundles/', 'test/'];

/** What is wrong with a package holding these paths (relative to the package root); [] when nothing. */
function problems(files) {
  const have = new Set(files);
  const out = REQUIRED.filter((f) => !have.has(f)).map((f) => `missing ${f}${f.startsWith('prebuilds/') ? ' (build it with `npm run prebuildify`)' : ''}`);
  for (const prefix of FORBIDDEN) {
    const hit = files.find((f) => f.startsWith(prefix));
    if (hit) out.push(`holds ${prefix} (${hit})`);
  }
  return out;
}

// --ignore-scripts: listing must not rebuild dist/ (prepare) under whoever is reading it
const PACK_DRY_RUN = ['pack', '--dry-run', '--json', '--ignore-scripts'];

/** The paths in the JSON `npm pack --dry-run --json` prints. */
function filesOfPackJson(json) {
  return JSON.parse(json)[0].files.map((f) => f.path);
}

function packedFiles(root, tarball) {
  if (tarball) {
    return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  }
  return filesOfPackJson(execFileSync('npm', PACK_DRY_RUN, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

if (require.main === module) {
  const i = process.argv.indexOf('--tarball');
  const files = packedFiles(join(__dirname, '..'), i > 0 ? process.argv[i + 1] : null);
  const bad = problems(files);
  if (bad.length) {
    console.error(`pack-check: the package is not what the README promises:\n  - ${bad.join('\n  - ')}`);
    process.exit(1);
  }
  console.log(`pack-check: ${files.length} files, prebuild, library, types, CLI, docs, examples and license present`);
}

module.exports = { problems, packedFiles, filesOfPackJson, PACK_DRY_RUN, REQUIRED };
