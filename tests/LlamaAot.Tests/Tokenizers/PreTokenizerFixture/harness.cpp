// The oracle of PreTokenizerTests: llama.cpp 0.5.0's unicode_regex_split (byte_encode = false) on each
// PreTokenizerKind's regex list. Built and run by make_fixture.py, which writes kinds.h from llama-vocab.cpp.
//   harness split RECORDS   RECORDS: (uint32 little-endian length, bytes)*; prints per record and kind
//                           "<record> <Kind> <word lengths in code points>" or "<record> <Kind> ! <exception>"
//   harness decode RECORDS  prints per record "<record> <code points of unicode_cpts_from_utf8, hex>"
//   harness tables          writes, for each value 0..0x11000F, unicode_cpt_flags_from_cpt (uint16), unicode_tolower
//                           and unicode_cpts_normalize_nfd (uint32 each), little-endian, to stdout
#include "kinds.h"
#include "unicode.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

static std::vector<std::string> read_records(const char * path) {
    std::ifstream f(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::string> records;
    for (size_t p = 0; p + 4 <= all.size();) {
        uint32_t n;
        memcpy(&n, all.data() + p, 4);
        records.push_back(all.substr(p + 4, n));
        p += 4 + n;
    }
    return records;
}

int main(int argc, char ** argv) {
    if (argc == 2 && !strcmp(argv[1], "tables")) {
        std::vector<uint32_t> all(0x110010);
        for (uint32_t cpt = 0; cpt < all.size(); ++cpt) {
            all[cpt] = cpt;
        }
        const auto nfd = unicode_cpts_normalize_nfd(all);
        for (uint32_t cpt = 0; cpt < all.size(); ++cpt) {
            const uint16_t flags = unicode_cpt_flags_from_cpt(cpt).as_uint();
            const uint32_t lower = unicode_tolower(cpt);
            fwrite(&flags, 2, 1, stdout);
            fwrite(&lower, 4, 1, stdout);
            fwrite(&nfd[cpt], 4, 1, stdout);
        }
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: harness split|decode RECORDS | harness tables\n");
        return 2;
    }
    const auto records = read_records(argv[2]);
    for (size_t r = 0; r < records.size(); ++r) {
        if (!strcmp(argv[1], "decode")) {
            printf("%zu", r);
            for (uint32_t cpt : unicode_cpts_from_utf8(records[r])) {
                printf(" %X", cpt);
            }
            printf("\n");
            continue;
        }
        for (const auto & kind : kinds) {
            printf("%zu %s", r, kind.name);
            try {
                // the words come back as UTF-8 of whole code points: count those
                for (const auto & word : unicode_regex_split(records[r], kind.exprs, false)) {
                    printf(" %zu", unicode_cpts_from_utf8(word).size());
                }
            } catch (const std::exception & e) {
                printf(" ! %s", e.what());
            }
            printf("\n");
        }
    }
    return 0;
}
