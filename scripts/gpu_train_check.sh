#!/usr/bin/env bash
# TAVLO GPU check, for an offline H100/H200 box (nothing is downloaded; ~5-8 minutes):
#   1. generate an AVATAR-Synth set there (preset small, all cores),
#   2. AMP training throughput at batch 128, T=4, 224 px: synthetic tensors (bf16 and fp16) and the real
#      data loader (PyAV decoding in workers; then the frame cache), with GPU utilisation and peak memory,
#   3. a short real tavlo-train run with AMP that checkpoints, resumes and writes a submission,
#   4. with SEEDS set: the TAVLO-vs-baseline comparison (scripts/compare_tavlo_baseline.py, the CPU configs in fp32)
#      once per seed, JOBS seeds at a time sharing the GPU, then the mean over seeds with 95% intervals.
# Results: $OUT/*.json and the printed tables. Knobs (environment): PYTHON, OUT, DATA (reuse a synth folder),
# PRESET (small), BATCH (128), STEPS (20), WORKERS (cores - 2), DEVICE (cuda), AMPS ("bf16 fp16": the synthetic
# runs), EVAL_EVERY (5 epochs: at batch 128 an epoch of 'small' is 2 steps), CACHE (1; 0 = no frame cache: at
# 224 px it holds ~50 MB per 10 s clip), SEEDS (none), JOBS (6), COMPARE_TIMEOUT (s, 1200), DEADLINE (epoch seconds
# by which the comparison must end: seeds not finished by then are dropped), TINY=1 (CPU smoke test sizes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi; fi
OUT=${OUT:-runs/gpu_check}
DATA=${DATA:-$OUT/synth}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-128}
STEPS=${STEPS:-20}
WORKERS=${WORKERS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
export YOLO_OFFLINE=1 HF_HUB_OFFLINE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
SIZE=(--frames 4 --img 224)
TRAIN_SIZE=()
read -r -a AMPS <<< "${AMPS:-bf16 fp16}"
LOADER_AMP=bf16
WARMUP=3
if [ "${TINY:-0}" = 1 ]; then  # CPU smoke test of this script: tiny model, 2 steps
  TINY_MODEL='{"visual_width": 16, "feat_dim": 32, "time_dim": 16, "num_heads": 4, "embed_dim": 32, "audio_channels": [8, 16], "n_mels": 32, "depth": 1}'
  SIZE=(--frames 4 --img 64 --model-overrides "$TINY_MODEL")
  TRAIN_SIZE=(--model.img_size=64 --model.visual_width=16 --model.feat_dim=32 --model.time_dim=16 --model.num_heads=4
              --model.embed_dim=32 "--model.audio_channels=[8,16]" --model.n_mels=32 --model.depth=1)
  BATCH=2 STEPS=2 WORKERS=1 WARMUP=1
  AMPS=(fp16) LOADER_AMP=off  # CPU autocast is slow; fp16 still exercises the GradScaler path
fi
mkdir -p "$OUT"

echo "== machine"
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"

echo "== data: AVATAR-Synth ${PRESET:-small} in $DATA"
if [ ! -f "$DATA/annotations/train.json" ]; then
  "$PY" -m avatar_bench.synth.cli generate --preset "${PRESET:-small}" --out "$DATA" --no-progress
fi

echo "== throughput, synthetic tensors (batch $BATCH)"
for amp in "${AMPS[@]}"; do
  "$PY" -m tavlo_model.throughput --device "$DEVICE" --batch "$BATCH" "${SIZE[@]}" --amp "$amp" --steps "$STEPS" \
    --warmup "$WARMUP" --out "$OUT/throughput_synthetic_$amp.json"
done

echo "== throughput, real data loader ($WORKERS workers), decoding every clip, then from the frame cache"
"$PY" -m tavlo_model.throughput --device "$DEVICE" --batch "$BATCH" "${SIZE[@]}" --amp "$LOADER_AMP" \
  --steps "$STEPS" --warmup "$WARMUP" --no-synthetic --data "$DATA" --workers "$WORKERS" \
  --out "$OUT/throughput_loader.json"
CACHE_DIR="" CACHE_ARGS=()
if [ "${CACHE:-1}" = 1 ]; then
  # the cache run decodes each video once during its warm-up steps, then reads memory maps
  "$PY" -m tavlo_model.throughput --device "$DEVICE" --batch "$BATCH" "${SIZE[@]}" --amp "$LOADER_AMP" \
    --steps "$STEPS" --warmup "$WARMUP" --no-synthetic --data "$DATA" --workers "$WORKERS" \
    --cache-dir "$OUT/cache" --out "$OUT/throughput_loader_cache.json"
  CACHE_DIR="$OUT/cache" CACHE_ARGS=(--cache-dir "$OUT/cache")
fi

echo "== tavlo-train with AMP: 2x$STEPS steps with a resume in the middle, then tavlo-infer"
COMMON=(--config tavlo_model/configs/default.yaml "--data.root=$DATA" "--out_dir=$OUT/train" "--device=$DEVICE"
        "--batch_size=$BATCH" "--data.num_workers=$WORKERS" "--data.cache_dir=$CACHE_DIR" --log_every=5
        "--eval_every=${EVAL_EVERY:-5}"
        "${TRAIN_SIZE[@]}")
"$PY" -m tavlo_model.train "${COMMON[@]}" "--max_steps=$STEPS"
"$PY" -m tavlo_model.train "${COMMON[@]}" "--max_steps=$(( 2 * STEPS ))" --resume=auto
"$PY" -m tavlo_model.infer --ckpt "$OUT/train/last.pt" --gt "$DATA/annotations/test.json" --videos "$DATA/videos" \
  --out "$OUT/submission.npz" --device "$DEVICE" --workers "$WORKERS" "${CACHE_ARGS[@]}"

if [ -n "${SEEDS:-}" ]; then
  echo "== TAVLO vs the single-frame baseline, seeds $SEEDS, ${JOBS:-6} at a time on $DEVICE"
  QUICK=() QUICK_SIZE=()
  if [ "${TINY:-0}" = 1 ]; then QUICK=(--quick) QUICK_SIZE=("${TRAIN_SIZE[@]}" --batch_size=2); fi
  LIMIT=${COMPARE_TIMEOUT:-1200}
  if [ -n "${DEADLINE:-}" ]; then  # end by DEADLINE (epoch seconds), keeping 30 s to aggregate what finished
    left=$(( DEADLINE - $(date +%s) - 30 )); if [ "$left" -lt "$LIMIT" ]; then LIMIT=$left; fi
  fi
  if [ "$LIMIT" -lt 30 ]; then echo "compare: only $LIMIT s left before DEADLINE: skipped"; LIMIT=1; fi
  # shellcheck disable=SC2086  # SEEDS is a list of numbers
  if ! timeout "$LIMIT" "$PY" scripts/compare_tavlo_baseline.py --data "$DATA" --out "$OUT/compare" \
      --seeds $SEEDS --jobs "${JOBS:-6}" "${QUICK[@]}" -- "--device=$DEVICE" --amp=off --data.num_workers=2 \
      --threads=1 "${QUICK_SIZE[@]}"
  then
    done_seeds=""
    for s in $SEEDS; do if [ -f "$OUT/compare/seed$s/comparison.json" ]; then done_seeds="$done_seeds $s"; fi; done
    echo "compare stopped early; seeds finished: ${done_seeds:-none}"
    if [ -n "$done_seeds" ]; then  # the finished seeds are reused: this only aggregates them
      # shellcheck disable=SC2086
      "$PY" scripts/compare_tavlo_baseline.py --data "$DATA" --out "$OUT/compare" --seeds $done_seeds --jobs 1
    fi
  fi
fi
echo "== done: results in $OUT"
