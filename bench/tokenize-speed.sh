#!/usr/bin/env bash
# Tokenizing speed as processes (issue 11): `llama-aot tokenize` against llama.cpp 0.5.0's `llama-tokenize` on the
# 1 MB English and mixed texts of bench/tokenizer-corpus.py, with the llama3 (llama-bpe) and qwen2 vocabularies of
# ../shared/reference/tokenizers, load included: `-f TEXT --ids --no-escape`, output to /dev/null. Runs are interleaved (one of
# each per round); reports the median wall seconds of each and the ratio llama.cpp / llama-aot (> 1: llama-aot is
# faster), into bench/results/<cpu>/tokenize-<date>.md and standard output. It also checks, once per cell, that the
# two print the same ids.
#
# usage: bench/tokenize-speed.sh [--runs N] [LLAMA_AOT_BINARY]   (default publish/llama-aot)
# environment: LLAMA_TOKENIZE (default /work/llama-ref/llama.cpp/build-native/bin/llama-tokenize), CORPUS (a
#   directory to write the texts into; default a temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
if [ "${1:-}" = "--runs" ]; then runs=$2; shift 2; fi
aot=${1:-publish/llama-aot}
cpp=${LLAMA_TOKENIZE:-/work/llama-ref/llama.cpp/build-native/bin/llama-tokenize}
corpus=${CORPUS:-$(mktemp -d)}
python3 bench/tokenizer-corpus.py "$corpus"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
slug=$(printf '%s' "$cpu" | tr -c '[:alnum:]' '-')
mkdir -p "bench/results/$slug"
out="bench/results/$slug/tokenize-$(date -u +%Y%m%d-%H%M).md"

wall() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {printf "%.3f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

{
  echo "# Tokenizing speed, $(date -u +%Y-%m-%d), $cpu, $(nproc) cores"
  echo
  echo "\`bench/tokenize-speed.sh --runs $runs $aot\`; llama.cpp: \`$cpp\`. Wall seconds, median of $runs, load included."
  echo
  echo "| vocabulary | text | ids | llama-tokenize s | llama-aot s | ratio |"
  echo "|---|---|---:|---:|---:|---:|"
} | tee "$out"
for vocab in llama-bpe qwen2; do
  model=../shared/reference/tokenizers/ggml-vocab-$vocab.gguf
  for text in english mixed; do
    file=$corpus/$text.txt
    "$cpp" -m "$model" -f "$file" --ids --no-escape --log-disable 2>/dev/null > "$corpus/cpp.ids"
    "$aot" tokenize -m "$model" -f "$file" --ids --no-escape 2>/dev/null > "$corpus/aot.ids"
    cmp -s "$corpus/cpp.ids" "$corpus/aot.ids" || { echo "error: $vocab $text: llama-aot's ids differ from llama.cpp's" >&2; exit 1; }
    ids=$(tr -cd ',' < "$corpus/cpp.ids" | wc -c)
    c=() a=()
    for _ in $(seq "$runs"); do
      c+=("$(wall "$cpp" -m "$model" -f "$file" --ids --no-escape --log-disable)")
      a+=("$(wall "$aot" tokenize -m "$model" -f "$file" --ids --no-escape)")
    done
    mc=$(printf '%s\n' "${c[@]}" | median); ma=$(printf '%s\n' "${a[@]}" | median)
    printf '| %s | %s | %d | %s | %s | %.2f |\n' "$vocab" "$text" "$((ids + 1))" "$mc" "$ma" "$(echo "$mc / $ma" | bc -l)" | tee -a "$out"
  done
done
echo "(written to $out)"
