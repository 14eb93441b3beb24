#!/usr/bin/env node
// `npm run docs:check`: regenerates the API reference into a scratch folder and fails when it
// differs from the committed docs/api/ (a changed public type or doc comment without `npm run docs`).
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');
const { tmpdir } = require('node:os');

const root = join(__dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'tensorbolt-api-'));
try {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const files = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
  const list = (dir) => files(dir).map((f) => relative(dir, f)).sort();
  const committed = join(root, 'docs', 'api');
  const want = list(out);
  let have = [];
  try { have = list(committed); } catch { /* missing: reported below */ }
  const stale = [
    ...want.filter((f) => !have.includes(f)).map((f) => `missing ${f}`),
    ...have.filter((f) => !want.includes(f)).map((f) => `extra ${f}`),
    ...want.filter((f) => have.includes(f) && readFileSync(join(out, f), 'utf8') !== readFileSync(join(committed, f), 'utf8')).map((f) => `changed ${f}`),
  ];
  if (stale.length) {
    console.error(`docs/api is out of date (${stale.slice(0, 5).join('; ')}${stale.length > 5 ? '; ...' : ''}): run \`npm run docs\` and commit docs/api`);
    process.exit(1);
  }
  console.log(`docs/api is current (${want.length} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
