#!/bin/bash
# The CUDA check and the full-size runs made on a GPU machine (docs/results.md, "Full Video Games on CUDA").
#
#   bash bench/gpu_check.sh tests                          # the CUDA tests and the model tests, on the GPU
#   bash bench/gpu_check.sh protocols DATA [EPOCHS] [T]    # both protocols: ours, LightGCN (3 seeds), closed form
#   bash bench/gpu_check.sh ablations DATA [MAX_S] [T]     # ours and its five ablations, seed 0
#
# Every model/seed runs in its own process at once (one GPU, many CPU cores); each is stopped after T seconds
# (default 440). Logs and JSON go to $OUT (default /tmp/gpu_check). PY picks the interpreter (default python3).
# "ablations" fixes the item graph at what ours chose on valid in the "protocols" run (λ 200, concept weight 2,
# decay 0.7) and caps each GNN's training at MAX_S seconds (default 120): a short, capped comparison.
set -u
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PY:-python3}; OUT=${OUT:-/tmp/gpu_check}; mkdir -p "$OUT"
mode=${1:?tests, protocols or ablations}
case $mode in
tests)
  $PY -m pytest -q -p no:cacheprovider -m "not slow and not neo4j" tests/test_cuda.py tests/test_foldin.py \
    tests/test_model_train.py tests/test_itemgraph.py tests/test_protocols.py 2>&1 | tee "$OUT/pytest.txt" ;;
protocols)
  DATA=${2:?DATA}; EP=${3:-100}; T=${4:-440}
  P="$PY bench/protocols.py $DATA --epochs $EP --threads 1"
  timeout "$T" $P --models pop,ease,ease-recency --seeds 0 > "$OUT/closed.txt" 2>&1 &
  for s in 0 1 2; do
    timeout "$T" $P --models ours --seeds $s --no-refit > "$OUT/ours_s$s.txt" 2>&1 &
    timeout "$T" $P --models lightgcn --seeds $s --no-refit --set lightgcn:num_layers=3 > "$OUT/lightgcn_s$s.txt" 2>&1 &
  done
  wait ;;
ablations)
  DATA=${2:?DATA}; MS=${3:-120}; T=${4:-440}
  C="$PY bench/train_compare.py $DATA --epochs 100 --threads 2 --seeds 0 --max-seconds $MS --item-graph-lambdas 200"
  C="$C --item-graph-concept-weights 2 --recency-decays 0.7"
  for m in kgrec kgrec-no-concepts kgrec-no-negative kgrec-no-stage1 kgrec-no-recency kgrec-no-item-graph; do
    timeout "$T" $C --models $m --json "$OUT/$m.json" > "$OUT/$m.txt" 2>&1 &
  done
  wait ;;
*) echo "unknown mode $mode: tests, protocols or ablations" >&2; exit 2 ;;
esac
