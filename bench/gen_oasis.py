#!/usr/bin/env python3
"""Writes deterministic Oasis-like JSONL records (about 1.6 KB each) to stdout.

usage: gen_oasis.py N [SEED]
"""
import json
import os
import random
import sys

# English text with the odd accented word, and a share of Chinese records, as a
# multilingual image set gives. MIX=heavy puts non-ASCII words in every record
# (the stress case reported beside the default in docs/benchmarks.md); MIX=zh
# makes every record Chinese with emoji, the second case with its own targets.
EN = ("the a of image photo shows man woman dog cat street red blue green small large "
      "building sign text written left right background foreground holding wearing "
      "what why how where which describe explain count color number people car tree "
      "sky water table book window light shadow").split()
ACCENTED = "café naïve über façade".split()
ZH = "图片 中的 文字 一个 男人 女人 桌子 左边 右边 颜色 什么 为什么 描述 汽车 天空".split()
HEAVY = EN + ACCENTED + ["图片", "中的", "文字"]
EMOJI = "🙂 😂 🐱 🚗 🌳 ☀️ 📷 🖼️ ✨ 👍".split()
MIX = os.environ.get("MIX", "realistic")


def sentence(rng, lo, hi, lang="en"):
    words = []
    for _ in range(rng.randint(lo, hi)):
        if MIX == "heavy":
            words.append(rng.choice(HEAVY))
        elif MIX == "zh":
            # Mostly Chinese with emoji, as the two Chinese pipelines produce.
            words.append(rng.choice(EMOJI) if rng.random() < 0.08 else rng.choice(ZH))
        elif lang == "zh":
            words.append(rng.choice(ZH))
        else:
            words.append(rng.choice(ACCENTED) if rng.random() < 0.01 else rng.choice(EN))
    return (" " if lang == "en" or MIX == "heavy" else "").join(words)


def record(rng, i):
    lang = "zh" if MIX == "zh" or rng.random() < 0.1 else "en"
    hook = sentence(rng, 40, 200, lang)
    instruction = sentence(rng, 8, 30, lang).capitalize() + "?"
    scores = {k: rng.randint(1, 5) for k in ("solvability", "hallucination", "clarity", "nonsense")}
    # Skew toward passing so the filter keeps a realistic share.
    for k in ("hallucination", "nonsense"):
        if rng.random() < 0.6:
            scores[k] = 5
    return {
        "id": f"oasis-{i:07d}",
        "image": f"images/{i // 1000:04d}/{i:07d}.jpg",
        "hook": hook,
        "extracted": "Instruction: " + instruction,
        "instruction": instruction,
        "scores": scores,
        "history": {
            "hook": {
                "model": "Qwen2-VL-72B-Instruct",
                "media": [f"images/{i // 1000:04d}/{i:07d}.jpg"],
                "finish_reason": "stop",
                "usage": {"prompt_tokens": rng.randint(300, 1400), "completion_tokens": rng.randint(50, 512)},
                "latency_ms": rng.randint(400, 9000),
                "attempts": 1,
            },
            "extract": {
                "model": "Qwen2.5-72B-Instruct",
                "prompt": "extract-instruction preset; text: " + hook[:96],
                "finish_reason": "stop",
                "usage": {"prompt_tokens": rng.randint(200, 600), "completion_tokens": rng.randint(10, 60)},
                "latency_ms": rng.randint(100, 3000),
                "attempts": rng.choice([1, 1, 1, 2]),
            },
        },
    }


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    out = sys.stdout
    for i in range(n):
        out.write(json.dumps(record(rng, i), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
