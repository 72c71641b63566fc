#!/usr/bin/env python3
"""Writes splits.txt, the expected output of PreTokenizer.Split for PreTokenizerTests, from llama.cpp itself:
harness.cpp compiled against llama.cpp 0.5.0's src/unicode.cpp and src/unicode-data.cpp, each kind's regex list
taken from src/llama-vocab.cpp's llm_tokenizer_bpe constructor.

    python3 make_fixture.py LLAMA_CPP_DIR SHARED_DIR > splits.txt       (the checked-in fixture: seed 11, 320 cases)
    python3 make_fixture.py LLAMA_CPP_DIR SHARED_DIR --seed 5 --cases 20000 > /tmp/big.txt   (a longer check)
    python3 make_fixture.py LLAMA_CPP_DIR SHARED_DIR --all-code-points > /tmp/all.txt   (every code point, in contexts)
    python3 make_fixture.py LLAMA_CPP_DIR SHARED_DIR --tables-sha256   (the hash UnicodeDataTests expects)

The cases: every distinct test string of SHARED_DIR/reference/{tokenizers,vocab}/*.inp (referred to by file and
index: the test reads them in place), then seeded random strings from pools of awkward text (below).
"""
import argparse
import base64
import glob
import hashlib
import os
import random
import struct
import subprocess
import sys
import tempfile

# Each kind's list is the one llama.cpp uses for this pre-tokenizer type (the first of the types sharing it).
KIND_CASES = [
    ('Default', 'default:'),
    ('Llama3', 'case LLAMA_VOCAB_PRE_TYPE_LLAMA3:'),
    ('Qwen2', 'case LLAMA_VOCAB_PRE_TYPE_QWEN2:'),
    ('Qwen35', 'case LLAMA_VOCAB_PRE_TYPE_QWEN35:'),
    ('Gpt2', 'case LLAMA_VOCAB_PRE_TYPE_GPT2:'),
    ('DeepSeekLlm', 'case LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM:'),
    ('DeepSeekCoder', 'case LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_CODER:'),
    ('Falcon', 'case LLAMA_VOCAB_PRE_TYPE_FALCON:'),
    ('StarCoder', 'case LLAMA_VOCAB_PRE_TYPE_STARCODER:'),
    ('Lines', 'case LLAMA_VOCAB_PRE_TYPE_GEMMA4:'),
]


def kinds_header(vocab_cpp):
    src = open(vocab_cpp, encoding='utf-8').read()
    ctor = src.index('llm_tokenizer_bpe(const llama_vocab & vocab)')
    out = ['#include <string>', '#include <vector>',
           'struct Kind { const char * name; std::vector<std::string> exprs; };',
           'static const std::vector<Kind> kinds = {']
    for name, label in KIND_CASES:
        at = src.index(label, ctor)
        body = src.index('regex_exprs = {', at) + len('regex_exprs = {')
        out.append('{"%s", {%s}},' % (name, src[body:src.index('};', body)]))
    out.append('};')
    return '\n'.join(out) + '\n'


def deepseek_class_edges(vocab_cpp):
    """Code points at and beside each range of DeepSeek LLM's bracket expressions."""
    src = open(vocab_cpp, encoding='utf-8').read()
    at = src.index('case LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM:')
    block = src[at:src.index('};', at)]
    edges = set()
    for line in block.split('\n'):
        if '[' not in line or '\\\\p' in line:
            continue
        inner = line[line.index('[') + 1:line.rindex(']')]
        i = 0
        while i < len(inner):
            lo = hi = ord(inner[i])
            if i + 2 < len(inner) and inner[i + 1] == '-':
                hi = ord(inner[i + 2])
                i += 2
            edges.update(c for c in (lo - 1, lo, hi, hi + 1) if 0x20 < c < 0x110000 and not 0xD800 <= c < 0xE000)
            i += 1
    return sorted(edges)


def rand_range(rng, lo, hi):
    return chr(rng.randint(lo, hi))


def pools(rng, edges):
    words = ['the', 'The', 'HELLO', 'world', "don't", "I'm", "we'LL", 'naïve', 'café', 'straße', 'İstanbul',
             'camelCase', 'snake_case', 'x86_64', 'Ünïcödé', 'ǅemal', 'ﬁne', 'µs', 'Ωmega', 'Kelvin']
    ascii_punct = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'
    whitespace = [' ', '  ', '   ', '\t', '\n', '\r\n', '\r', '\n\n', '\n \n', ' \n', '\t\n ', '\x0b', '\x0c',
                  '\x1c', '\x1d', '\x1e', '\x1f', '\x85', '\xa0', '\u1680', '\u2000', '\u2003', '\u2007', '\u200a',
                  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\u200b', '\u180e', '\ufeff', '\x00', '\x7f']
    return [
        (10, lambda: rng.choice(words)),
        (6, lambda: ''.join(rng.choice('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(rng.randint(1, 8)))),
        (6, lambda: ''.join(rng.choice('0123456789') for _ in range(rng.randint(1, 9)))),
        (6, lambda: ''.join(rng.choice(ascii_punct) for _ in range(rng.randint(1, 4)))),
        (10, lambda: rng.choice(whitespace)),
        (4, lambda: rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'vE", "'M",
                                "'LL", "'lL", "'D", "'x", "'", "''", "\u2019s", "'\u212a", "'\u017f", "'\u0130"])),
        (5, lambda: ''.join(rand_range(rng, 0x4E00, 0x9FFF) for _ in range(rng.randint(1, 6)))),
        (2, lambda: rng.choice([rand_range(rng, 0x3400, 0x4DBF), rand_range(rng, 0x20000, 0x2A6DF),
                                rand_range(rng, 0xF900, 0xFAFF), rand_range(rng, 0x3000, 0x303F),
                                rand_range(rng, 0xFF01, 0xFF5E), rand_range(rng, 0xFF61, 0xFF9F),
                                rand_range(rng, 0x3040, 0x30FF)])),
        (3, lambda: ''.join(rand_range(rng, 0xAC00, 0xD7A3) for _ in range(rng.randint(1, 4)))),
        (1, lambda: rng.choice([rand_range(rng, 0x1100, 0x11FF), rand_range(rng, 0x3130, 0x318F),
                                rand_range(rng, 0xD7A4, 0xD7FF)])),
        (4, lambda: rng.choice(['\U0001F600', '\U0001F44D\U0001F3FD', '\U0001F468\u200d\U0001F469\u200d\U0001F467',
                                '\U0001F1FA\U0001F1F8', '1\ufe0f\u20e3', '\u2764\ufe0f', '\u00a9', '\u2122',
                                rand_range(rng, 0x1F300, 0x1FAFF), rand_range(rng, 0x2600, 0x27BF)])),
        (4, lambda: rng.choice('aeouAEnc ') .strip() + ''.join(rand_range(rng, 0x300, 0x36F) for _ in range(rng.randint(1, 3)))),
        (1, lambda: rng.choice([rand_range(rng, 0x20D0, 0x20FF), '\ufe20', '\u0e31', '\u093f'])),
        (3, lambda: ''.join(rng.choice([rand_range(rng, 0x621, 0x64A), rand_range(rng, 0x64B, 0x652),
                                        rand_range(rng, 0x660, 0x669), rand_range(rng, 0x6F0, 0x6F9), '\u060c', '\u061f'])
                            for _ in range(rng.randint(1, 6)))),
        (3, lambda: ''.join(rng.choice([rand_range(rng, 0x905, 0x939), rand_range(rng, 0x93E, 0x94D),
                                        rand_range(rng, 0x966, 0x96F), '\u0964'])
                            for _ in range(rng.randint(1, 6)))),
        (2, lambda: ''.join(rng.choice([rand_range(rng, 0xE01, 0xE2E), '\u0e31', rand_range(rng, 0xE34, 0xE3A),
                                        rand_range(rng, 0xE50, 0xE59)]) for _ in range(rng.randint(1, 5)))),
        (3, lambda: ''.join(rng.choice([rand_range(rng, 0x391, 0x3C9), rand_range(rng, 0x410, 0x44F),
                                        rand_range(rng, 0xA0, 0xFF), rand_range(rng, 0x100, 0x2AF),
                                        rand_range(rng, 0x5D0, 0x5EA)]) for _ in range(rng.randint(1, 5)))),
        (3, lambda: rng.choice(['\u00b2', '\u00b3', '\u00bd', '\u2160', '\u216b', '\u2460', '\uff10', '\uff19',
                                '\U0001D7CE', '\u0663', '\u09e6', '\u2070', '\u2189'])),
        (3, lambda: rng.choice(['$', '\u20ac', '\u00a3', '\u00a5', '\u20b9', '\u2212', '\u00d7', '\u00f7', '\u00b1',
                                '\u2211', '\u221a', '\u221e', '\u2264', '\u2190', '\u2605', '\u00b0', '\ufffd',
                                '\u02c2', '\u00a7', '\u00b6', '\u2026', '\u2014', '\u201c', '\u00ab', '\u00bf'])),
        (4, lambda: chr(rng.choice(edges))),
        (2, lambda: rng.choice(['\ue000', '\uf8ff', '\ufffe', '\uffff', '\U0010FFFF', '\u0378', '\U000E0001',
                                '\U000E0100', '\U000F0000', chr(rng.randint(0x80, 0x2FFFF))])),
        (2, lambda: rng.choice([b'\x80', b'\xbf', b'\xc0\xaf', b'\xe0\x80\xaf', b'\xed\xa0\x80', b'\xed\xbf\xbf',
                                b'\xf8\x88\x80\x80\x80', b'\xfe', b'\xff', b'\xe4\xb8', b'\xf0\x9f\x98', b'\xc3',
                                b'\xe2\x82', b'\xc3 ', b'\xe4a', b'\xf0\x9f1', b'\xc1\xbf'])),
        (0.1, lambda: rng.choice([b'\xf4\x90\x80\x80', b'\xf7\xbf\xbf\xbf', b'\xf5\x80\x80\x80'])),
    ]


def random_case(rng, pool, weights):
    parts = []
    for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 21, 34])):
        atom = rng.choices(pool, weights)[0]()
        parts.append(atom if isinstance(atom, bytes) else atom.encode('utf-8', 'surrogatepass'))
        if rng.random() < 0.3:
            parts.append(b' ')
    return b''.join(parts)


def all_code_point_cases():
    """Every code point from U+0080 (surrogates as ED xx xx, and 0x110000..0x1FFFFF not: llama.cpp throws on them)
    after each of a few neighbours that change how patterns treat it, 32 to a string."""
    before = ['', ' ', 'a', '1', "'", '\n', '\r\n', '  ', '\u3002', '\u3000', '\u0301', '\u00e9', '\t', '+', 'A']
    cases, chunk = [], []
    for cp in range(0x80, 0x110000):
        chunk.append(before[cp % len(before)] + chr(cp) + (chr(cp) if cp % 7 == 0 else ''))
        if len(chunk) == 32:
            cases.append(''.join(chunk).encode('utf-8', 'surrogatepass'))
            chunk = []
    return [('text ' + base64.b64encode(t).decode(), t) for t in cases]


def inp_cases(shared):
    seen, cases = set(), []
    for path in sorted(glob.glob(os.path.join(shared, 'reference', 'tokenizers', '*.inp'))
                       + glob.glob(os.path.join(shared, 'reference', 'vocab', '*.inp'))):
        texts = open(path, 'rb').read().split(b'\n__ggml_vocab_test__\n')
        if texts and texts[-1] == b'':
            texts.pop()
        for i, text in enumerate(texts):
            if text not in seen:
                seen.add(text)
                cases.append((f'inp {os.path.basename(os.path.dirname(path))}/{os.path.basename(path)} {i}', text))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('llama_cpp')
    ap.add_argument('shared')
    ap.add_argument('--seed', type=int, default=11)
    ap.add_argument('--cases', type=int, default=320)
    ap.add_argument('--all-code-points', action='store_true')
    ap.add_argument('--tables-sha256', action='store_true')
    args = ap.parse_args()
    src = os.path.join(args.llama_cpp, 'src')
    work = tempfile.mkdtemp(prefix='pretokenizer-oracle-')
    open(os.path.join(work, 'kinds.h'), 'w', encoding='utf-8').write(kinds_header(os.path.join(src, 'llama-vocab.cpp')))
    harness = os.path.join(work, 'harness')
    subprocess.run(['g++', '-std=c++17', '-O3', '-DNDEBUG', '-I', work, '-I', src, '-I', os.path.join(args.llama_cpp, 'include'),
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), 'harness.cpp'),
                    os.path.join(src, 'unicode.cpp'), os.path.join(src, 'unicode-data.cpp'), '-o', harness], check=True)

    if args.tables_sha256:
        print(hashlib.sha256(subprocess.run([harness, 'tables'], check=True, capture_output=True).stdout).hexdigest())
        return

    rng = random.Random(args.seed)
    pool = pools(rng, deepseek_class_edges(os.path.join(src, 'llama-vocab.cpp')))
    weights = [w for w, _ in pool]
    cases = inp_cases(args.shared)
    if args.all_code_points:
        cases = all_code_point_cases()
    else:
        cases += [('text ' + base64.b64encode(t).decode(), t) for t in (random_case(rng, [f for _, f in pool], weights)
                                                                          for _ in range(args.cases))]
    records = os.path.join(work, 'records.bin')
    with open(records, 'wb') as f:
        for _, text in cases:
            f.write(struct.pack('<I', len(text)) + text)

    splits = {}
    for line in subprocess.run([harness, 'split', records], check=True, capture_output=True, text=True).stdout.splitlines():
        record, kind, rest = (line.split(' ', 2) + [''])[:3]
        splits.setdefault(int(record), []).append((kind, rest))
    decoded = {}
    for line in subprocess.run([harness, 'decode', records], check=True, capture_output=True, text=True).stdout.splitlines():
        record, _, rest = line.partition(' ')
        decoded[int(record)] = rest

    out = sys.stdout
    out.write(f'# Expected PreTokenizer.Split results, written by make_fixture.py (seed {args.seed}, {args.cases} random'
              ' cases) from llama.cpp 0.5.0\'s\n# unicode_regex_split. Per case: "case inp FILE INDEX" or "case text'
              ' BASE64"; "cps HEX..." (llama.cpp\'s decoding, for\n# invalid UTF-8); then "KIND[,KIND...] LENGTHS" (word'
              ' lengths in code points) or "KIND,... ! ERROR" (llama.cpp throws).\n')
    for r, (name, text) in enumerate(cases):
        out.write(f'case {name}\n')
        try:
            text.decode('utf-8')
        except UnicodeDecodeError:
            out.write(f'cps {decoded[r]}\n')
        groups = {}
        for kind, rest in splits[r]:
            groups.setdefault(rest, []).append(kind)
        for rest, kinds in groups.items():
            out.write(f'{",".join(kinds)} {rest}'.rstrip() + '\n')


if __name__ == '__main__':
    main()
