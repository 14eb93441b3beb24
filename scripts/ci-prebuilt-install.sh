#!/usr/bin/env bash
# Proves the npm package installs and trains with no compiler: builds the prebuild, packs the
# package, installs the tarball into a new empty project with every C/C++ compiler and make replaced
# by failing stubs on PATH, then trains a small MLP from it and checks the loss falls.
# Prints the tarball size and the install time.
#   scripts/ci-prebuilt-install.sh              build the prebuild, then test
#   scripts/ci-prebuilt-install.sh --no-build   test the prebuild already in prebuilds/
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

step() { printf '\n==== %s ====\n' "$*"; }

if [ "${1:-}" != "--no-build" ]; then
  step "prebuild (prebuildify, OpenBLAS static)"
  npm run prebuildify
else
  step "check the existing prebuild"
  npm run prebuildify:check
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tensorbolt-prebuilt.XXXXXX")
trap 'rm -rf "$work"' EXIT

step "npm pack"
# prepare (tsc) runs as part of pack, so dist/ is current.
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
tarball="$work/$tarball"
listing=$(tar -tzf "$tarball")
# the prebuild, library, types, CLI, docs, examples and license; no build trees (what prepublishOnly checks)
node scripts/pack-check.cjs --tarball "$tarball" || { echo "FAIL: the tarball is not what the README promises"; exit 1; }
tar_bytes=$(stat -c %s "$tarball")
echo "tarball: $(basename "$tarball"), $(awk -v b="$tar_bytes" 'BEGIN { printf "%.1f MiB (%d bytes)", b / 1048576, b }'), $(wc -l <<<"$listing") files"

step "compilers hidden: failing stubs for gcc g++ cc c++ clang clang++ make"
stubs="$work/stubs"
mkdir -p "$stubs"
for tool in gcc g++ cc c++ clang clang++ make; do
  cat >"$stubs/$tool" <<EOF
#!/bin/sh
echo "stub $tool: no compiler in this test (called with: \$*)" >&2
touch "$work/compiler-was-called"
exit 1
EOF
  chmod +x "$stubs/$tool"
done
export PATH="$stubs:$PATH"
if gcc --version >/dev/null 2>&1; then echo "FAIL: the gcc stub is not first on PATH"; exit 1; fi
rm -f "$work/compiler-was-called"

step "install the tarball into a new empty project"
app="$work/app"
mkdir -p "$app"
cd "$app"
printf '{ "name": "tensorbolt-prebuilt-check", "version": "1.0.0", "private": true, "type": "module" }\n' >package.json
t0=$(date +%s.%N)
# --foreground-scripts shows the package's install script (node-gyp-build) at work.
npm install --no-audit --no-fund --foreground-scripts "$tarball"
t1=$(date +%s.%N)
install_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
if [ -e "$work/compiler-was-called" ]; then echo "FAIL: the install called a compiler stub"; exit 1; fi
if [ -e node_modules/tensorbolt/build ]; then echo "FAIL: the install built from source (node_modules/tensorbolt/build exists)"; exit 1; fi
prebuild=node_modules/tensorbolt/prebuilds/linux-x64/tensorbolt.node
ldd "$prebuild"
if ldd "$prebuild" | grep -qi openblas; then echo "FAIL: the prebuild needs a shared OpenBLAS"; exit 1; fi

step "train a small MLP from the installed package"
cat >train.mjs <<'EOF'
import * as tb from 'tensorbolt';

const info = tb.backendInfo();
console.log(`addon: ${info.addonPath}`);
console.log(`gemm: ${info.gemm}, threads: ${info.threads}`);
if (!/[\\/]node_modules[\\/]tensorbolt[\\/]prebuilds[\\/]linux-x64[\\/]/.test(info.addonPath)) throw new Error('the addon did not come from the prebuild');
if (!info.openblas) throw new Error('the prebuild has no OpenBLAS');

// Three classes, labels from a fixed random linear map of 8 features: learnable by an MLP.
tb.setSeed(7);
const n = 512;
const x = tb.randn([n, 8]);
const w = tb.randn([8, 3]);
const labels = tb.argMax(tb.matmul(x, w), 1);
const y = tb.toCategorical(labels, 3);
const model = tb.sequential([
  tb.layers.dense({ units: 32, activation: 'relu', inputShape: [8] }),
  tb.layers.dense({ units: 3, activation: 'softmax' }),
]);
model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const before = model.evaluate(x, y)[0];
const history = await model.fit(x, y, { epochs: 10, batchSize: 32, verbose: 0 });
const [after, acc] = model.evaluate(x, y);
console.log(`loss ${before.toFixed(4)} -> ${after.toFixed(4)} (per epoch: ${history.history.loss.map((l) => l.toFixed(3)).join(' ')}), accuracy ${acc.toFixed(3)}`);
if (!(after < 0.5 * before)) throw new Error(`the loss did not fall enough: ${before} -> ${after}`);
if (!(acc > 0.8)) throw new Error(`accuracy ${acc} is too low`);
EOF
node train.mjs

# npm 11 warns about install scripts not covered by allowScripts, and may one day skip them: the
# runtime loader finds the prebuild by itself, so an install with scripts skipped must work as well.
step "install again with install scripts skipped, and train"
app2="$work/app-noscripts"
mkdir -p "$app2"
cp package.json train.mjs "$app2/"
cd "$app2"
npm install --no-audit --no-fund --ignore-scripts "$tarball"
node train.mjs
if [ -e "$work/compiler-was-called" ]; then echo "FAIL: a compiler stub was called"; exit 1; fi

step "result"
echo "tarball size: $(awk -v b="$tar_bytes" 'BEGIN { printf "%.1f MiB (%d bytes)", b / 1048576, b }')"
echo "install time: ${install_s} s (npm install of the tarball and its dependencies, compilers hidden)"
echo "prebuilt install: OK"
