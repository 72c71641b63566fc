#!/usr/bin/env bash
# Quantizing speed as processes (issue 12): `llama-aot quantize` against llama.cpp 0.5.0's `llama-quantize` on the same
# F16 model, recipe and thread count (a TinyLlama-shape model: `dotnet run -c Release --project bench/LlamaAot.Bench --
# write-models DIR tinyllama F16`). Runs are interleaved (one of each per round); reports the median wall seconds and
# the median CPU seconds (user + system: what the run cost, whatever else shares the machine) of each, the ratios
# llama.cpp / llama-aot (> 1: llama-aot is faster) and the load average, into bench/results/<cpu>/quantize-<date>.md
# and standard output. It checks that the two outputs are the same bytes.
#
# usage: bench/quantize-speed.sh [--runs N] [--threads T] [--type Q4_K_M] MODEL-F16.gguf [LLAMA_AOT_BINARY]
#   (default 3 runs, 2 threads, Q4_K_M, publish/llama-aot)
# environment: LLAMA_QUANTIZE (default /work/llama-ref/llama.cpp/build-native/bin/llama-quantize), OUT (a directory
#   for the two outputs, about 0.6 GB each for TinyLlama Q4_K_M; default the model's directory).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 threads=2 type=Q4_K_M
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --type) type=$2; shift 2 ;;
    *) break ;;
  esac
done
model=${1:?usage: bench/quantize-speed.sh [--runs N] [--threads T] [--type Q4_K_M] MODEL-F16.gguf [LLAMA_AOT_BINARY]}
aot=${2:-publish/llama-aot}
cpp=${LLAMA_QUANTIZE:-/work/llama-ref/llama.cpp/build-native/bin/llama-quantize}
dir=${OUT:-$(dirname "$model")}
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
slug=$(printf '%s' "$cpu" | tr -c '[:alnum:]' '-')
mkdir -p "bench/results/$slug"
out="bench/results/$slug/quantize-$(date -u +%Y%m%d-%H%M).md"

# "wall cpu" seconds of one run, output discarded.
cost() {
  /usr/bin/time -f '%e %U %S' -o "$dir/.time" "$@" > /dev/null 2>&1 || { echo "error: $1 failed (rerun it by hand to see why)" >&2; exit 1; }
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$dir/.time"
}
median() { sort -g | awk '{a[NR]=$1} END {printf "%.2f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
load() { cut -d' ' -f1 /proc/loadavg; }

{
  echo "# Quantizing speed, $(date -u +%Y-%m-%d), $cpu, $(nproc) cores"
  echo
  echo "\`bench/quantize-speed.sh --runs $runs --threads $threads --type $type $model $aot\`; llama.cpp: \`$cpp\`."
  echo "Seconds, median of $runs interleaved runs; CPU = user + system."
  echo
  echo "| run | llama-quantize wall | llama-quantize CPU | llama-aot wall | llama-aot CPU | load before |"
  echo "|---|---:|---:|---:|---:|---:|"
} | tee "$out"
cw=() cc=() aw=() ac=()
for r in $(seq "$runs"); do
  l=$(load)
  cost "$cpp" "$model" "$dir/llama-quantize-$type.gguf" "$type" "$threads" > "$dir/.cost"
  read -r w c < "$dir/.cost"; cw+=("$w"); cc+=("$c")
  cost "$aot" quantize "$model" "$dir/llama-aot-$type.gguf" "$type" -t "$threads" > "$dir/.cost"
  read -r w c < "$dir/.cost"; aw+=("$w"); ac+=("$c")
  echo "| $r | ${cw[-1]} | ${cc[-1]} | ${aw[-1]} | ${ac[-1]} | $l |" | tee -a "$out"
done
rm -f "$dir/.time" "$dir/.cost"
cmp -s "$dir/llama-quantize-$type.gguf" "$dir/llama-aot-$type.gguf" || { echo "error: llama-aot's $type file differs from llama-quantize's" >&2; exit 1; }
mcw=$(printf '%s\n' "${cw[@]}" | median); mcc=$(printf '%s\n' "${cc[@]}" | median)
maw=$(printf '%s\n' "${aw[@]}" | median); mac=$(printf '%s\n' "${ac[@]}" | median)
{
  echo "| median | $mcw | $mcc | $maw | $mac | |"
  echo
  printf 'llama.cpp / llama-aot: wall %.2fx, CPU %.2fx; the outputs are identical (cmp).\n' \
    "$(echo "$mcw / $maw" | bc -l)" "$(echo "$mcc / $mac" | bc -l)"
} | tee -a "$out"
echo "(written to $out)"
