#!/usr/bin/env bash
# Train (or resume) every shipped network, in two parallel single-threaded queues (2-core machine).
# Each run checkpoints under checkpoints/ and exports to methods/weights/ when it finishes;
# re-running this script resumes where it stopped and skips finished runs.
# Extra arguments are passed to every run, e.g. `scripts/train_all.sh recipe.steps=1200`.
set -u
cd "$(dirname "$0")/.."
mkdir -p logs
recipe=${RECIPE:-modern}
EXTRA=("$@")
queue() {
  for job in "$@"; do
    model=${job%:*}; sigma=${job#*:}
    python -m bench.train model="$model" sigma="$sigma" recipe="$recipe" threads=1 "${EXTRA[@]}"
  done
}
queue cn2:25 cn2:50 cn2:100 cn1:50 > logs/train_queue_a.log 2>&1 &
queue cnblind:0 cn1:25 cn1:100 > logs/train_queue_b.log 2>&1 &
wait
