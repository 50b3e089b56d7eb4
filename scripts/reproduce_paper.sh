#!/usr/bin/env bash
# The paper's experiment (Jain & Seung 2008, Figure 2) on BSD68: every method × σ = 25, 50, 100 under
# both noise models — `gaussian` (unclipped, the modern protocol) and `clipped` (the paper's) — run by
# the joblib launcher with 2 local workers, then published into results/.
# Resumable: finished images are kept in the results store (outputs/store) and skipped on re-run.
#   scripts/reproduce_paper.sh                       # everything
#   METHODS=cn2,bls_gsm NOISES=clipped JOBS=1 scripts/reproduce_paper.sh
#   STORE=scratch/fresh_store SWEEP_DIR=scratch/fresh scripts/reproduce_paper.sh   # time it from scratch
#   METHODS=cn1,cn2,cnblind REUSE_ROWS=scratch/earlier scripts/reproduce_paper.sh
#       re-run only the retrained convnets; the published report also reads every rows.csv / store
#       under REUSE_ROWS (earlier rows of the other methods, each row naming its commit)
# Each invocation appends its commands to results/RUN.md (delete it to start a fresh record).
set -euo pipefail
cd "$(dirname "$0")/.."
methods=${METHODS:-bm3d,foe,bls_gsm,bls_gsm2,cnblind,cn1,cn2,wavelet,noisy}  # slowest first: balances the workers
sigmas=${SIGMAS:-25,50,100}
noises=${NOISES:-gaussian,clipped}
jobs=${JOBS:-2}
sweep=${SWEEP_DIR:-scratch/paper_sweep}
out=${OUT:-results}
store=${STORE:-outputs/store}
pairs=(cn2:bls_gsm cn2:bls_gsm2 cn2:foe cn2:bm3d cnblind:cn2 cn1:cn2 foe:wavelet foe:bls_gsm)  # the paper's claims, signed
export OMP_NUM_THREADS=$((2 / jobs > 0 ? 2 / jobs : 1))  # one core per worker, no oversubscription

command=(python -m bench -m hydra/launcher=joblib "hydra.launcher.n_jobs=$jobs" "hydra.sweep.dir=$sweep"
         "method=$methods" "sigma=$sigmas" "noise=$noises" dataset=bsd68 "store=$(realpath -m "$store")")
start=$(date +%s)
"${command[@]}"
wall=$(( $(date +%s) - start ))

reuse=${REUSE_ROWS:-}
report=(python -m bench.leaderboard "$sweep" $reuse --out "$out" --pairs "${pairs[@]}")
"${report[@]}"
figures=("python -m bench.figures psnr-vs-sigma $out/leaderboard.csv --dataset bsd68 --out $out/figures/psnr_vs_sigma.png")
for noise in ${noises//,/ }; do
  figures+=("python -m bench.figures compare --image test003 --sigma 50 --noise $noise --out $out/figures/comparison_sigma50_$noise.png")
done
figures+=("python -m bench.figures difference $out --out $out/figures/difference_to_reference.png")
figures+=("python -m bench.filters cnblind --out $out/figures/cnblind_filters.png")
for figure in "${figures[@]}"; do $figure; done
[ -f "$out/RUN.md" ] || printf '# How these results were produced\n\nOne section per invocation of scripts/reproduce_paper.sh, oldest first.\n' > "$out/RUN.md"
{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "    ${command[*]}"
  echo "    ${report[*]}"
  printf '    %s\n' "${figures[@]}"
  echo
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!results' || echo ' (with uncommitted changes)')"
  [ -n "$reuse" ] && echo "- rows of methods not in this sweep come from \`$reuse\` (earlier runs of the same code; each row's commit is in rows.csv)"
  echo "- wall time of this invocation: ${wall} s with $jobs worker(s) on $(nproc --all) CPU cores (rows already in the store are reused, not recomputed; per-image seconds are in rows.csv)"
} >> "$out/RUN.md"
echo "published to $out/"
