#!/usr/bin/env bash
# Train (or resume) every shipped network, in two parallel single-threaded queues (2-core machine).
# Each run checkpoints under checkpoints/ and exports to methods/weights/ when it finishes;
# re-running this script resumes where it stopped and skips finished runs.
# Jobs are model:sigma:updates:lr[:init_from] — the budgets of the shipped weights (≈ 110 min per
# queue here). `init_from` continues from shipped weights (see docs/convnets.md: CN2 and CNBlind
# continue the previous session's networks; CN1 σ = 50, 100 start from the CN1 of the σ before,
# CN2 σ = 100 from CN2 σ = 50 — always a network trained on the same or a smaller image set).
# Extra arguments are passed to every run, e.g. `scripts/train_all.sh validate_every=500`.
set -u
cd "$(dirname "$0")/.."
mkdir -p logs
EXTRA=("$@")
queue() {
  for job in "$@"; do
    IFS=: read -r model sigma steps lr parent <<< "$job"
    nice -n "${NICE:-0}" python -m bench.train model="$model" sigma="$sigma" recipe.steps="$steps" recipe.lr="$lr" \
      recipe.output_lr="$lr" init_from="${parent:-null}" threads=1 validate_every=1000 "${EXTRA[@]}"
  done
}
# QUEUE_A / QUEUE_B replace the job lists and LOG_PREFIX the logs' names (scripts/train_clipped.sh).
# shellcheck disable=SC2206  # split the job lists on whitespace
queue_a=(${QUEUE_A:-cn2:25:25000:2e-3:cn2_sigma25 cn2:50:25000:2e-3:cn2_sigma50 cn2:100:30000:3e-3:cn2_sigma50
                    cnblind:0:35000:2e-3:cnblind})
# shellcheck disable=SC2206
queue_b=(${QUEUE_B:-cn1:25:45000:5e-3 cn1:50:35000:3e-3:cn1_sigma25 cn1:100:35000:3e-3:cn1_sigma50})
log=logs/${LOG_PREFIX:-train_queue}
queue "${queue_a[@]}" > "${log}_a.log" 2>&1 &
queue "${queue_b[@]}" > "${log}_b.log" 2>&1 &
wait
