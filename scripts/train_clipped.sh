#!/usr/bin/env bash
# Train the convnets for the paper's clipped noise protocol (issue #12): every network continues
# the shipped gaussian network of the same model and σ (`init_from`, recorded in its weight record)
# on noisy inputs clipped to [0, 255], at a gentle learning rate. Two single-threaded queues, as
# scripts/train_all.sh; re-running resumes from the checkpoints and skips finished runs.
#   scripts/train_clipped.sh                     # the budgets of the shipped clipped weights
#   STEPS_CN2=2000 scripts/train_clipped.sh      # shorter
set -u
cd "$(dirname "$0")/.."
cn2=${STEPS_CN2:-6000} blind=${STEPS_BLIND:-6000} cn1=${STEPS_CN1:-4000} lr=${LR:-1e-3}
QUEUE_A="cn2:25:$cn2:$lr:cn2_sigma25 cn2:50:$cn2:$lr:cn2_sigma50 cn2:100:$cn2:$lr:cn2_sigma100" \
QUEUE_B="cnblind:0:$blind:$lr:cnblind cn1:25:$cn1:$lr:cn1_sigma25 cn1:50:$cn1:$lr:cn1_sigma50 cn1:100:$cn1:$lr:cn1_sigma100" \
LOG_PREFIX=train_clipped exec scripts/train_all.sh noise=clipped "$@"
