#!/usr/bin/env bash
# Generation speed when the CPU is shared (issue 9, section 6): each llama-aot binary at its default thread count,
# -t 1 and -t 2, and llama.cpp at its default, on an idle machine and beside three busy-loop processes per core.
# Runs are interleaved (one of each configuration per round) so a noisy neighbour spreads over all of them.
# Reports the median and range of the wall time of the whole run and of the eval tokens/s each CLI prints, into
# bench/results/<cpu>/contention-<date>.md (and on standard output). llama-completion often exits before its logging
# thread has printed the timings, so its rate may be missing in some runs (counted as such); its wall time never is.
#
# usage: bench/contention.sh [--runs N] [--loads "idle loaded"] [--out FILE] BINARY[=LABEL] ...
#   e.g. bench/contention.sh publish/llama-aot=after /work/baseline-publish/llama-aot=before
# environment: LLAMA_CPP (llama.cpp's llama-completion; skipped if missing), STORIES (default
#   ../shared/models/stories260K/stories260K-Q4_0.gguf, 200 tokens), TINYLLAMA (default
#   bench-models/tinyllama-Q4_0.gguf, 32 tokens; skipped if missing; see the README's write-models), N_STORIES, N_TINYLLAMA.
# On a machine shared with other work, `nice -n -19 bench/contention.sh ...` (as root) keeps that work from weighing
# on the runs; the busy loops inherit the niceness, so they still compete with the runs as equals.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 loads="idle loaded" out=""
binaries=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --loads) loads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) binaries+=("$1"); shift ;;
  esac
done
[ ${#binaries[@]} -gt 0 ] || binaries=("publish/llama-aot=llama-aot")
llama_cpp=${LLAMA_CPP:-/work/llama-ref/llama.cpp/build-native/bin/llama-completion}
stories=${STORIES:-../shared/models/stories260K/stories260K-Q4_0.gguf}
tinyllama=${TINYLLAMA:-bench-models/tinyllama-Q4_0.gguf}
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
slug=$(printf '%s' "$cpu" | tr -c '[:alnum:]' '-')
[ -n "$out" ] || { mkdir -p "bench/results/$slug"; out="bench/results/$slug/contention-$(date -u +%Y%m%d-%H%M).md"; }

hogs=()
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done; hogs=(); }
trap stop_hogs EXIT
trap 'stop_hogs; exit 130' INT TERM
start_hogs() { for _ in $(seq $((3 * $(nproc)))); do sh -c 'while :; do :; done' & hogs+=($!); done; sleep 1; }

# configurations: "label|command", the model, prompt and token count appended per model
configs=()
for b in "${binaries[@]}"; do
  path=${b%%=*}; label=${b#*=}; [ "$label" != "$b" ] || label=$(basename "$path")
  [ -x "$path" ] || { echo "error: $path is not an executable" >&2; exit 2; }
  configs+=("$label default|$path" "$label -t 1|$path -t 1" "$label -t 2|$path -t 2")
done
if [ -x "$llama_cpp" ]; then configs+=("llama.cpp default|$llama_cpp -no-cnv"); else echo "llama.cpp not found at $llama_cpp: skipped" >&2; fi

models=("$stories|${N_STORIES:-200}")
if [ -f "$tinyllama" ]; then models+=("$tinyllama|${N_TINYLLAMA:-32}"); else echo "$tinyllama not found: skipped" >&2; fi

# the load average (1, 5, 15 min) and the CPUs' busy share over the next 2 s (the load average lags a phase behind)
load_now() {
  local a b
  read -r _ a < /proc/stat; sleep 2; read -r _ b < /proc/stat
  echo "$a" "$b" | awk -v avg="$(cut -d' ' -f1-3 /proc/loadavg)" '{t1 = t2 = 0; for (i = 1; i <= 8; i++) {t1 += $i; t2 += $(i + 10)}; printf "load average %s, CPUs %d%% busy", avg, 100 - 100 * ($14 - $4) / (t2 - t1)}'
}
tmp=$(mktemp -d); trap 'stop_hogs; rm -rf "$tmp"' EXIT
# one run: prints "wall_seconds eval_tokens_per_second"
measure() {
  local start end tps
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  $1 -m "$2" -p "Once upon a time" -n "$3" --temp 0 -c 256 --ignore-eos > /dev/null 2> "$tmp/err" || { echo "error: $1 failed:" >&2; tail -3 "$tmp/err" >&2; exit 1; }
  end=$(date +%s.%N)
  # llama-aot: "eval: N tokens in T ms (S tokens/s)"; llama.cpp: "eval time = ... (... tokens per second)"
  tps=$(grep -E ': +eval( time|:)' "$tmp/err" | grep -oE '[0-9.]+ tokens(/s| per second)' | grep -oE '^[0-9.]+' | tail -1 || true)
  [ -n "$tps" ] || { echo "== $1 on $2: no eval rate in its output:"; tail -5 "$tmp/err"; } >> "${out%.md}.log"
  echo "$(echo "$end - $start" | bc) ${tps:-nan}"
}

{
  echo "# Generation beside busy loops (bench/contention.sh)"
  echo
  echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M'); CPU: $cpu ($(nproc) logical cores); loaded = $((3 * $(nproc))) x \`sh -c 'while :; do :; done'\`"
  echo "- each run: \`-m MODEL -p \"Once upon a time\" -n N --temp 0 -c 256 --ignore-eos\`; $runs runs per cell, interleaved; median [min - max]"
  for b in "${binaries[@]}"; do p=${b%%=*}; echo "- ${b#*=}: $p ($(stat -c %y "$p" | cut -d. -f1))"; done
  [ -x "$llama_cpp" ] && echo "- llama.cpp: $llama_cpp (its default threads), run with -no-cnv"
  echo "- nice $(nice) (the busy loops inherit it); before each phase, listed below the table: the load average and how busy the CPUs were over 2 s"
  echo
  echo "| model | tokens | load | configuration | wall s | eval tokens/s |"
  echo "|---|---:|---|---|---:|---:|"
} | tee "$out"
phases=()

for load in $loads; do
  for m in "${models[@]}"; do
    model=${m%%|*}; n=${m#*|}
    phases+=("$(basename "$model" .gguf) $load: $(load_now)")
    [ "$load" = loaded ] && start_hogs
    declare -A wall=() tps=()
    for _ in $(seq "$runs"); do
      for c in "${configs[@]}"; do
        read -r w t < <(measure "${c#*|}" "$model" "$n")
        wall[${c%%|*}]+="$w "; tps[${c%%|*}]+="$t "
      done
    done
    for c in "${configs[@]}"; do
      label=${c%%|*}
      # median [min - max] of the numbers (a run that printed no rate counts as missing)
      summary() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g | awk -v f="$1" -v runs="$runs" '{v[NR]=$1} END {if (!NR) {printf "n/a"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf f " [" f " - " f "]", m, v[1], v[NR]; if (NR < runs) printf " (%d of %d)", NR, runs}'; }
      echo "| $(basename "$model" .gguf) | $n | $load | $label | $(echo "${wall[$label]}" | summary %.3f) | $(echo "${tps[$label]}" | summary %.1f) |" | tee -a "$out"
    done
    unset wall tps
    [ "$load" = loaded ] && stop_hogs
  done
done
{ echo; echo "Before each phase:"; for p in "${phases[@]}"; do echo "- $p"; done; } | tee -a "$out"
echo "written to $out" >&2
