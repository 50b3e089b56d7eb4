#!/usr/bin/env bash
# Continue every shipped network on one CUDA GPU, all at once, within a wall-time budget.
#   TRAIN_S=420 scripts/train_gpu.sh            # weights to gpu_weights/, logs to logs/gpu_*.log
#   DEVICE=cpu TRAIN_S=20 CALIBRATION_STEPS=3 scripts/train_gpu.sh recipe.patch=8   # a dry run
# Extra arguments are passed to every run.
# A GPU takes batches 16× larger than the CPU recipe's at about the same cost per update, so the
# runs use 32 images × 4 patches of 64² per update. A short concurrent calibration run measures
# the updates per second each job gets while sharing the GPU; each job's `recipe.steps` is then
# chosen to fill 90 % of TRAIN_S, so the cosine schedule ends on time (the calibration includes
# cuDNN's warm-up, so the runs tend to end early; steps are recorded in each weight record).
# Jobs are model:sigma:init_from, like scripts/train_all.sh; JOBS="cn2:25:cn2_sigma25 …" picks some.
set -euo pipefail
cd "$(dirname "$0")/.."
train_s=${TRAIN_S:-420}
lr=${LR:-5e-4}  # the networks continue trained weights: a gentle warm restart
calibration_steps=${CALIBRATION_STEPS:-150}
weights=${WEIGHTS_DIR:-gpu_weights}
device=${DEVICE:-cuda}
# shellcheck disable=SC2206  # split the job list on whitespace
jobs=(${JOBS:-cn2:25:cn2_sigma25 cn2:50:cn2_sigma50 cn2:100:cn2_sigma100 cnblind:0:cnblind
              cn1:25:cn1_sigma25 cn1:50:cn1_sigma50 cn1:100:cn1_sigma100})
gpu_recipe=(recipe.images_per_batch=32 recipe.patches_per_image=4 recipe.patch=64 "recipe.lr=$lr"
            "recipe.output_lr=$lr" "device=$device" threads=2 validate_every=1000 checkpoint_every_s=60)
gpu_recipe+=("$@")
mkdir -p logs "$weights"

run_all() {  # run_all <phase> <steps of each job, in order> <extra args...>
  local phase=$1 steps=($2) index=0
  shift 2
  for job in "${jobs[@]}"; do
    IFS=: read -r model sigma parent <<< "$job"
    python -m bench.train model="$model" sigma="$sigma" init_from="$parent" "${gpu_recipe[@]}" \
      recipe.steps="${steps[$index]}" checkpoint_dir="checkpoints/gpu_$phase/${model}_$sigma" "$@" \
      > "logs/gpu_${phase}_${model}_${sigma}.log" 2>&1 &
    index=$((index + 1))
  done
  wait
}

updates_per_second() {  # the rate tqdm reports when a log's progress bar closes
  { grep -o '[0-9.]*it/s' "$1" || true; } | tail -1 | tr -d 'it/s'
}

calibration=$(printf "$calibration_steps %.0s" "${jobs[@]}")
run_all calibration "$calibration" export=false
budget=""
for job in "${jobs[@]}"; do
  IFS=: read -r model sigma _ <<< "$job"
  log="logs/gpu_calibration_${model}_${sigma}.log"
  rate=$(updates_per_second "$log")
  [ -n "$rate" ] || { echo "error: the calibration run of $model σ=$sigma failed or ran < 1 update/s; see $log" >&2; exit 1; }
  budget+="$(python -c "print(int(0.9 * $rate * $train_s))") "
done
echo "updates per job (calibrated on $calibration_steps updates each): $budget"
run_all train "$budget" "weights_dir=$weights"
grep -h "validation PSNR" logs/gpu_train_*.log
