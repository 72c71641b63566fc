#!/bin/sh
# Writes cases.txt, the expectations of TokenElementTests, from llama.cpp 0.5.0 itself: oracle.cpp compiled against
# a llama.cpp build, run on stories260K's vocabulary (512 tokens: 294 is "at", 412 "a", 265 " the", 198 the byte
# 0xC3, 2 end of sequence). One line per case: grammar, the tokens accepted first, then oracle's two lists.
#   tests/LlamaAot.Tests/Grammars/TokenElementOracle/make-cases.sh LLAMA_CPP_DIR SHARED_DIR > cases.txt
# (LLAMA_CPP_DIR holds the sources and a build in build-native/, as ../shared/tools/build-llama-cpp.sh makes it.)
set -eu
llama=$1
model=$2/models/stories260K/stories260K-F32.gguf
here=$(dirname "$0")
oracle=$(mktemp)
trap 'rm -f "$oracle"' EXIT
g++ -std=c++17 -O1 -I"$llama/include" -I"$llama/src" -I"$llama/ggml/include" "$here/oracle.cpp" \
    -L"$llama/build-native/bin" -lllama -lggml -lggml-base -Wl,-rpath,"$llama/build-native/bin" -o "$oracle"
run() {
    grammar=$1
    shift
    printf '%s\t%s\t%s\n' "$grammar" "$*" "$("$oracle" "$model" "$grammar" "$@")"
}
# A token element reached partway through a token's text ("at" against "a" <[294]>), and where a token ends.
run 'root ::= "a" <[294]>'
run 'root ::= "a" <[294]>' 412
run 'root ::= "at" <[294]>'
run 'root ::= "a" !<[294]>'
run 'root ::= "a" !<[294]>' 412
run 'root ::= " " !<[265]> [a-z]*'
# Another way through the same text keeps the token.
run 'root ::= "a" (<[294]> | "t")'
run 'root ::= "a" (<[294]> | "t" <[294]>)'
# A token element where a token starts, and after a cut character.
run 'root ::= <[294]> | "a"'
run 'root ::= "é" | !<[5]> !<[6]>' 198
run 'root ::= "é" | !<[5]> "t"' 198
# A token element naming end of generation: it never matches (llama.cpp decides end of generation apart).
run 'root ::= "a" <[2]>' 412
