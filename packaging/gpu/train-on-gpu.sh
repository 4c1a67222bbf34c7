#!/bin/bash
# Train on a lent GPU machine (Keras 3 on JAX; TensorFlow is not there), saving as it goes.
#   bash packaging/gpu/train-on-gpu.sh PACK WHEELS OUT BUDGET_SECONDS
# PACK: a training pack (`mammo train` writes one to <work>/pack; copy it under 64 MiB),
# WHEELS: keras, namex, optree wheels for the machine's Python, OUT: where results go.
# Results are copied to OUT after every run, so a run cut short still returns what it did.
set -u
PACK=$1 WHEELS=$2 OUT=$3 BUDGET=$4
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHEELS"/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
python3 -m core.training.run --pack "$PACK" --work /tmp/work --epochs 40 --batch-size 32 \
    --time-budget "$BUDGET" > "$OUT/train.log" 2>&1 &
PID=$!
while kill -0 $PID 2>/dev/null; do
  sleep 5
  cp /tmp/work/runs/*.npz "$OUT/" 2>/dev/null
  if [ -f /tmp/work/patch_model.weights.h5 ] && [ ! -f "$OUT/weights.part-aa" ]; then
    sleep 3; split -b 15M /tmp/work/patch_model.weights.h5 "$OUT/weights.part-"
  fi
done
cp /tmp/work/runs/*.npz /tmp/work/results.json "$OUT/" 2>/dev/null
grep -vE "^(W|I)[0-9]{4}" "$OUT/train.log" | tail -20
