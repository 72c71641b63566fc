#!/usr/bin/env bash
# Every model of ../shared/models/arch against llama.cpp 0.5.0's dumps in ../shared/reference/arch, through the
# published binary as a user runs it: per architecture and type, the largest |logit difference| over the three
# prompts (llama-aot logits -ctk f32 -ctv f32, the whole prompt in one batch). Greedy ids with the F16 cache are
# checked by ArchReferenceTests (against llama.cpp's, near-ties judged by its own top-2 gaps).
# Usage: bench/arch-check.sh [BINARY]   (default ./publish/llama-aot; needs python3 for the JSON arithmetic)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./publish/llama-aot}
shared=../shared
declare -A prompt=(
  [lily]="Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends."
  [ball]="Tom had a big red ball. He threw it very high and it went over the fence into the garden"
  [cat]="The cat sat on the mat and looked at the bird")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '| architecture | type | max abs dlogit (kv f32) |\n|---|---|---|\n'
for model in "$shared"/models/arch/*.gguf; do
  name=$(basename "$model" .gguf); arch=${name%-*}; type=${name##*-}
  worst=0
  for p in lily ball cat; do
    if ! "$bin" logits -m "$model" -p "${prompt[$p]}" -c 256 -t 1 -ctk f32 -ctv f32 -o "$tmp/out.json" 2>"$tmp/err"; then
      worst="$(tail -1 "$tmp/err")"; break
    fi
    worst=$(python3 - "$tmp/out.json" "$shared/reference/arch/$name.kvf32.$p.json" "$worst" <<'P'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["tokens"] == b["tokens"], "tokens differ"
print(max([float(sys.argv[3])] + [abs(x - y) for ra, rb in zip(a["logits"], b["logits"]) for x, y in zip(ra, rb)]))
P
)
  done
  [[ $worst == error* ]] && printf '| %s | %s | %s |\n' "$arch" "$type" "$worst" || printf '| %s | %s | %.2g |\n' "$arch" "$type" "$worst"
done
