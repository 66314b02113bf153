#!/usr/bin/env bash
# Tokenizer throughput, graft vs HF tokenizers (Rust), measured in one run on the same files and
# the same tokenizer.json files; prints sentences/s, tokens/s, the graft/HF ratio and the 1→2
# thread scaling of each. Needs build/bin/bench_tokenizer (tools/build.sh bench_tokenizer),
# node >= 18, and ../shared (fixtures/tokenizers/models, data/nsmc, data/sst2).
#   tools/bench_tokenizers.sh [--rounds N] [--limit N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${GRAFT_SHARED_DIR:-$ROOT/../shared}
BENCH=$ROOT/build/bin/bench_tokenizer
[ -x "$BENCH" ] || { echo "missing $BENCH: run tools/build.sh bench_tokenizer" >&2; exit 2; }
[ -d "$SHARED/fixtures/tokenizers/models" ] || { echo "missing $SHARED (set GRAFT_SHARED_DIR)" >&2; exit 2; }
if [ ! -d tools/hf-bench/node_modules/@anush008/tokenizers ]; then
  (cd tools/hf-bench && npm install --no-audit --no-fund --silent)
fi
OPTS=("$@")
JOBS_GRAFT=()
JOBS_HF=()
for tok in kcbert-base bert-base-uncased roberta-base; do
  for data in "nsmc/train.tsv:document" "sst2/train.tsv:sentence"; do
    file=${data%%:*} column=${data#*:}
    JOBS_GRAFT+=("$SHARED/fixtures/tokenizers/models/$tok" "$SHARED/data/$file" "$column")
    JOBS_HF+=("$SHARED/fixtures/tokenizers/models/$tok/tokenizer.json" "$SHARED/data/$file" "$column")
  done
done
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores; graft build/bin/bench_tokenizer vs @anush008/tokenizers (HF tokenizers $(node -p 'require("./tools/hf-bench/node_modules/@anush008/tokenizers/package.json").version'))"
"$BENCH" --json --threads 1,2 ${OPTS[@]+"${OPTS[@]}"} "${JOBS_GRAFT[@]}" >>"$OUT" || true
for t in 1 2; do
  (cd tools/hf-bench && RAYON_NUM_THREADS=$t TOKENIZERS_PARALLELISM=true node bench.js ${OPTS[@]+"${OPTS[@]}"} "${JOBS_HF[@]}") >>"$OUT"
done
node tools/hf-bench/report.js <"$OUT"
