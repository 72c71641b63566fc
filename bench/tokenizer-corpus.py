#!/usr/bin/env python3
"""Writes the two 1 MB texts of the tokenizer speed check (issue 11), reproducibly (seed 11).

usage: bench/tokenizer-corpus.py OUT_DIR   ->  OUT_DIR/english.txt, OUT_DIR/mixed.txt

english.txt: paragraphs of ../shared's English texts (the perplexity story and the Markdown documents), shuffled and
             repeated until 1 MiB.
mixed.txt:   the same paragraphs interleaved with chat templates (code: Jinja, JSON-ish, indentation), the
             tokenizer test strings of every reference vocabulary (CJK, emoji, Khmer, Arabic, odd whitespace,
             digits) and lines built from their non-ASCII characters, until 1 MiB.
Both are cut at a UTF-8 character boundary.
"""
import glob
import os
import random
import sys

SIZE = 1 << 20
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared')


def read(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read()


def paragraphs():
    texts = [read(os.path.join(ROOT, 'reference', 'perplexity', 'stories-a.txt'))]
    texts += [read(p) for p in sorted(glob.glob(os.path.join(ROOT, '*.md')))]
    return [p.strip() for t in texts for p in t.split('\n\n') if p.strip()]


def vectors():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'reference', 'tokenizers', '*.inp'))):
        out += [s for s in read(path).split('\n__ggml_vocab_test__\n') if s.strip()]
    return out


def templates():
    return [read(p) for p in sorted(glob.glob(os.path.join(ROOT, 'reference', 'chat-templates', '*.jinja')))]


def fill(rng, pick):
    parts, size = [], 0
    while size < SIZE:
        s = pick(rng)
        parts.append(s)
        size += len(s.encode('utf-8'))
    data = '\n\n'.join(parts).encode('utf-8')[:SIZE]
    return data.decode('utf-8', errors='ignore')


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else '.'
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(11)
    english = paragraphs()
    vecs = vectors()
    exotic = sorted({c for v in vecs for c in v if ord(c) > 127})
    code = templates()

    def pick_mixed(r):
        k = r.random()
        if k < 0.35:
            return r.choice(english)
        if k < 0.6:
            t = r.choice(code)
            start = r.randrange(max(1, len(t) - 2000))
            return t[start:start + r.randint(200, 2000)]
        if k < 0.85:
            return r.choice(vecs)
        return ''.join(r.choice(exotic) if r.random() < 0.8 else ' ' for _ in range(r.randint(10, 200)))

    for name, pick in (('english.txt', lambda r: r.choice(english)), ('mixed.txt', pick_mixed)):
        with open(os.path.join(out_dir, name), 'w', encoding='utf-8', newline='') as f:
            f.write(fill(rng, pick))


if __name__ == '__main__':
    main()
