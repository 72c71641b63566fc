// The oracle of TokenElementTests: llama.cpp 0.5.0's grammar on a model's vocabulary, asked the two questions its
// sampler asks. Built and run by make-cases.sh, against the libllama of a llama.cpp build (internal symbols of
// src/llama-grammar.h are exported from it).
//   oracle MODEL GRAMMAR [TOKEN...]   accepts the TOKENs in turn (llama_grammar_accept_impl), then prints
//     check: the ids llama_grammar_apply_impl leaves a finite logit over the whole vocabulary (what the sampler may pick)
//     accept: the ids llama_grammar_accept_impl takes without throwing, each on a clone of the grammar (end of
//             generation: where a stack is empty, as accept_impl aborts otherwise)
#include "llama.h"
#include "llama-grammar.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

int main(int argc, char ** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: oracle MODEL GRAMMAR [TOKEN...]\n");
        return 2;
    }
    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    llama_backend_init();
    auto params = llama_model_default_params();
    params.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], params);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n = llama_vocab_n_tokens(vocab);
    llama_grammar * grammar = llama_grammar_init_impl(vocab, argv[2], "root", false, nullptr, 0, nullptr, 0);
    if (grammar == nullptr) {
        fprintf(stderr, "the grammar does not parse\n");
        return 1;
    }
    for (int a = 3; a < argc; a++) {
        llama_grammar_accept_impl(*grammar, atoi(argv[a]));
    }

    std::vector<llama_token_data> all(n);
    for (int id = 0; id < n; id++) {
        all[id] = { id, 0.0f, 0.0f };
    }
    llama_token_data_array candidates = { all.data(), (size_t) n, -1, false };
    llama_grammar_apply_impl(*grammar, &candidates);
    printf("check:");
    for (int id = 0; id < n; id++) {
        if (!std::isinf(all[id].logit)) {
            printf(" %d", id);
        }
    }

    bool complete = false;
    for (const auto & stack : grammar->stacks) {
        complete |= stack.empty();
    }
    printf("\taccept:");
    for (int id = 0; id < n; id++) {
        if (llama_vocab_is_eog(vocab, id)) {
            if (complete) {
                printf(" %d", id);
            }
            continue;
        }
        llama_grammar * clone = llama_grammar_clone_impl(*grammar);
        try {
            llama_grammar_accept_impl(*clone, id);
            printf(" %d", id);
        } catch (const std::exception &) {
        }
        llama_grammar_free_impl(clone);
    }
    printf("\n");
    llama_grammar_free_impl(grammar);
    llama_model_free(model);
    return 0;
}
