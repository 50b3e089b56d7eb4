#!/usr/bin/env bash
# Train (or resume) every shipped network, in two parallel single-threaded queues (2-core machine).
# Each run checkpoints under checkpoints/ and exports to methods/weights/ when it finishes;
# re-running this script resumes where it stopped and skips finished runs.
# Jobs are model:sigma:updates:recipe — the budgets of the shipped weights (≈ 110 min per queue
# here; for the paper's layer-wise recipe, updates per stage). Extra arguments are passed to
# every run, e.g. `scripts/train_all.sh validate_every=500`.
set -u
cd "$(dirname "$0")/.."
mkdir -p logs
EXTRA=("$@")
queue() {
  for job in "$@"; do
    IFS=: read -r model sigma steps recipe <<< "$job"
    python -m bench.train model="$model" sigma="$sigma" recipe="$recipe" recipe.steps="$steps" threads=1 "${EXTRA[@]}"
  done
}
queue cn2:25:18000:modern cn2:50:18000:modern cn2:100:18000:modern \
      cn2:50:5000:paper cn2:25:5000:paper cn2:100:5000:paper > logs/train_queue_a.log 2>&1 &
queue cnblind:0:26000:modern cn1:25:7000:modern cn1:50:7000:modern cn1:100:7000:modern \
      > logs/train_queue_b.log 2>&1 &
wait
