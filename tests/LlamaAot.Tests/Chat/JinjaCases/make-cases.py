"""Renders every template of snippets.txt (separated by lines '====') with Python's jinja2 the way transformers does
(oracle.py) and writes cases.json: the oracle's output or error per template. Run from this directory with Debian's
python3-jinja2 (3.1) after editing snippets.txt: python3 make-cases.py"""
import json
from oracle import render

MESSAGES = [
    {"role": "system", "content": "Sys  text\n"},
    {"role": "user", "content": "Héllo 🙂 world", "n": 3, "f": 2.5, "l": [1, "a", None, True], "d": {"b": 1, "a": [2.0, {"x": None}]}},
    {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": {"city": "Paris", "n": 1e20}}}]},
]

cases = []
for template in open("snippets.txt", encoding="utf-8").read().split("\n====\n"):
    if not template.strip():
        continue
    try:
        cases.append({"template": template, "output": render(template, dict(messages=MESSAGES, add_generation_prompt=True, bos_token="<BOS>", eos_token="<EOS>"))})
    except Exception as e:
        cases.append({"template": template, "error": f"{type(e).__name__}: {e}"})
json.dump({"messages": MESSAGES, "cases": cases}, open("cases.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
