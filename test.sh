#!/usr/bin/env bash
# Runs every test and ends with one line "N passed, N failed, N skipped".
#
#  1. Publishes the NativeAOT binary (publish/llama-aot) and the portable x86-64-v3 one (publish-v3/llama-aot): the
#     end-to-end CLI tests run them, as a user would.
#  2. Runs the whole suite once, on the best instruction set this CPU has (AVX-512 here).
#  3. Runs the tests marked [Trait("Category", "Isa")] (kernel dispatch, model logits) twice more under the JIT with
#     AVX-512 switched off (DOTNET_EnableAVX512=0: the AVX2 paths, with AVX-VNNI where the CPU has it; on .NET 10
#     DOTNET_EnableAVX512F=0 is ignored) and with AVX2 switched off (the 128-bit portable paths), so every path the
#     registry can pick is exercised through the real dispatch; the kernel tests run once more on AVX2 without
#     AVX-VNNI (DOTNET_EnableAVXVNNI=0), the vpmaddubsw/vpmaddwd form of the same integer sums.
#     On a CPU with AVX-512, the AVX2 run also takes the golden end-to-end tests, marked [Trait("Category", "Golden")]
#     (llama.cpp's greedy CLI text, perplexity, the Q5 conversion, the in-process llama.cpp comparisons): the CLI ones
#     against publish-v3/llama-aot (DOTNET_Enable* reaches only the JIT), the others under the JIT. So an AVX-512
#     machine catches what would fail on an AVX2-only one; on an AVX2-only one, step 2 already ran them there.
# The exit code is non-zero if the build or any test failed.
#
# LLAMA_AOT_QUICK=1 skips the AOT publish (the CLI tests then run the JIT build) and the extra instruction-set runs.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0 failed=0 skipped=0 status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Adds up the "Passed!/Failed! - Failed: N, Passed: N, Skipped: N" lines dotnet test prints per assembly.
count() {
  local line
  while IFS= read -r line; do
    [[ $line =~ Failed:[[:space:]]+([0-9]+),[[:space:]]+Passed:[[:space:]]+([0-9]+),[[:space:]]+Skipped:[[:space:]]+([0-9]+) ]] || continue
    failed=$((failed + BASH_REMATCH[1])) passed=$((passed + BASH_REMATCH[2])) skipped=$((skipped + BASH_REMATCH[3]))
  done < "$log"
}

run_tests() { # label, then env assignments and extra dotnet test arguments
  local label=$1; shift
  echo "== tests: $label"
  env "$@" > "$log" 2>&1
  local rc=$?
  grep -E '^\s*(Passed!|Failed!)|\[FAIL\]|error' "$log" | grep -v 'warn' | head -n 200
  count
  if [ $rc -ne 0 ]; then
    status=1
    # A build error or crashed test host prints no summary line: count it as a failure.
    grep -qE '(Passed!|Failed!)' "$log" || { failed=$((failed + 1)); tail -n 40 "$log"; }
  fi
}

echo "== build"
if ! dotnet build llama-aot.slnx -c Release > "$log" 2>&1; then
  grep -E 'error' "$log" | sort -u | head -n 50
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

if [ "${LLAMA_AOT_QUICK:-0}" != 1 ]; then
  echo "== publish (NativeAOT)"
  if dotnet publish src/Cli -c Release -o publish > "$log" 2>&1; then
    export LLAMA_AOT_BINARY="$PWD/publish/llama-aot"
  else
    grep -E 'error' "$log" | sort -u | head -n 50
    status=1 failed=$((failed + 1))
  fi
  echo "== publish (NativeAOT, portable x86-64-v3 / AVX2)"
  if dotnet publish src/Cli -c Release -o publish-v3 -p:IlcInstructionSet=x86-64-v3 > "$log" 2>&1; then
    export LLAMA_AOT_BINARY_V3="$PWD/publish-v3/llama-aot"
  else
    grep -E 'error' "$log" | sort -u | head -n 50
    status=1 failed=$((failed + 1))
  fi
fi

run_tests "all, best instruction set" dotnet test llama-aot.slnx -c Release --no-build
if [ "${LLAMA_AOT_QUICK:-0}" != 1 ]; then
  avx2=(DOTNET_EnableAVX512=0) filter=Category=Isa label="AVX2 paths (AVX-512 off)"
  if grep -qw avx512f /proc/cpuinfo && [ -n "${LLAMA_AOT_BINARY_V3:-}" ]; then
    avx2+=(LLAMA_AOT_BINARY="$LLAMA_AOT_BINARY_V3") filter="Category=Isa|Category=Golden" label+=", with the golden tests (CLI: publish-v3)"
  fi
  run_tests "$label" "${avx2[@]}" dotnet test llama-aot.slnx -c Release --no-build --filter "$filter"
  run_tests "AVX2 kernels without AVX-VNNI" DOTNET_EnableAVX512=0 DOTNET_EnableAVXVNNI=0 dotnet test tests/LlamaAot.Tests -c Release --no-build --filter "Category=Isa&FullyQualifiedName~Kernels"
  run_tests "portable paths (AVX2 off)" DOTNET_EnableAVX2=0 dotnet test llama-aot.slnx -c Release --no-build --filter Category=Isa
fi

echo "$passed passed, $failed failed, $skipped skipped"
if [ $status -ne 0 ] || [ $failed -ne 0 ]; then exit 1; fi
