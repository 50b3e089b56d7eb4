#!/usr/bin/env bash
# Train the convnets for the paper's clipped noise protocol (issue #12): every network continues
# the shipped gaussian network of the same model and σ (`init_from`, recorded in its weight record)
# on noisy inputs clipped to [0, 255], at a gentle learning rate. Two single-threaded queues, as
# scripts/train_all.sh; re-running resumes from the checkpoints and skips finished runs.
# Jobs are model:sigma:updates:lr:init_from — the budgets of the shipped clipped weights, set by
# the CPU time one session had (two queues sharing 2 cores with other work, ≈ 1–2 updates/s each).
#   scripts/train_clipped.sh
#   QUEUE_A="cn2:50:10000:1e-3:cn2_sigma50" QUEUE_B="" scripts/train_clipped.sh   # one longer run
# The shipped cnblind_clipped.pt and cn2_sigma25_clipped.pt then continued themselves (second round):
#   QUEUE_A="cnblind:0:24000:1e-3:cnblind_clipped" QUEUE_B="" LOG_PREFIX=train_round3 \
#     scripts/train_all.sh noise=clipped checkpoint_dir=checkpoints/cnblind_clipped_round3
#   QUEUE_A="cn2:25:6000:5e-4:cn2_sigma25_clipped" QUEUE_B="" LOG_PREFIX=train_round3_cn2 \
#     scripts/train_all.sh noise=clipped checkpoint_dir=checkpoints/cn2_s25_clipped_round3
# and cnblind_clipped.pt a third round, in two runs (validation 24.48 → 24.51 → 24.52 dB):
#   QUEUE_A="cnblind:0:40000:5e-4:cnblind_clipped" QUEUE_B="" LOG_PREFIX=train_round4 \
#     scripts/train_all.sh noise=clipped checkpoint_dir=checkpoints/cnblind_clipped_round4
#   QUEUE_A="cnblind:0:12000:2e-4:cnblind_clipped" QUEUE_B="" LOG_PREFIX=train_round5 \
#     scripts/train_all.sh noise=clipped checkpoint_dir=checkpoints/cnblind_clipped_round5
set -u
cd "$(dirname "$0")/.."
QUEUE_A=${QUEUE_A-cn2:25:3000:1e-3:cn2_sigma25 cn2:50:2000:1e-3:cn2_sigma50 cn2:100:2000:1e-3:cn2_sigma100} \
QUEUE_B=${QUEUE_B-cnblind:0:3000:1e-3:cnblind cn1:25:1200:1e-3:cn1_sigma25 cn1:50:1200:1e-3:cn1_sigma50 cn1:100:1200:1e-3:cn1_sigma100} \
LOG_PREFIX=train_clipped exec scripts/train_all.sh noise=clipped "$@"
