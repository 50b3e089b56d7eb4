#!/usr/bin/env bash
# The suite's own scaling figure: the paper's sweep on the first LIMIT BSD68 images, run from an
# empty results store with 1 and then 2 joblib workers; wall times go to results/scaling.md.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${LIMIT:-4}
methods=${METHODS:-cn1,cn2,cnblind,bls_gsm,bls_gsm2,foe,wavelet,bm3d}
out=${OUT:-results/scaling.md}
declare -A wall
for jobs in 1 2; do
  store="scratch/scaling_store_$jobs"; rm -rf "$store" "scratch/scaling_sweep_$jobs"
  start=$(date +%s.%N)
  OMP_NUM_THREADS=$((2 / jobs)) python -m bench -m hydra/launcher=joblib "hydra.launcher.n_jobs=$jobs" \
    "hydra.sweep.dir=scratch/scaling_sweep_$jobs" "store=$(pwd)/$store" "limit=$limit" \
    "method=$methods" sigma=25,50,100 dataset=bsd68 > "scratch/scaling_$jobs.log" 2>&1
  wall[$jobs]=$(python -c "import time; print(f'{time.time() - $start:.1f}')")
done
cat > "$out" <<TXT
# Sweep scaling: 1 vs 2 local workers

    LIMIT=$limit METHODS=$methods scripts/measure_scaling.sh

Each run: $methods × σ = 25, 50, 100 on the first $limit BSD68 images, from an empty results store,
joblib launcher; $(nproc --all) CPU cores; commit $(git rev-parse --short HEAD); $(date -u +%Y-%m-%dT%H:%MZ).

| workers | wall time (s) |
|---|---|
| 1 (2 threads per job) | ${wall[1]} |
| 2 (1 thread per job) | ${wall[2]} |

Speed-up with 2 workers: $(python -c "print(f'{${wall[1]} / ${wall[2]}:.2f}')")×.
TXT
cat "$out"
