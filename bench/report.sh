#!/usr/bin/env bash
# mminf-report's speed and memory on Oasis-like records (English with one record
# in ten Chinese with emoji, four scores, two history steps): MB/s of JSONL and
# peak RSS at 100,000 and 1,000,000 records (memory must stay flat), against a
# plain python3 json loop that counts the same scores, in the same run.
# One command, no arguments:
#   bench/report.sh          (BENCH_RECORDS=1000000 by default)
# Data is generated once into ${MMINF_CACHE:-~/.cache/mminf}/bench.
set -euo pipefail
source "$(dirname "$0")/lib.sh"   # --help, and the cache folder
scripts/setup.sh
swift build -c release --product mminf-report >&2
bin="$(swift build -c release --show-bin-path)/mminf-report"
big="${BENCH_RECORDS:-1000000}"
small=$((big / 10))
make_data() {  # N FILE
  [ -s "$2" ] && return
  python3 - "$1" "$2" <<'PY'
import json, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(1)
with open(path + ".tmp", "w") as f:
    for i in range(n):
        zh = i % 10 == 0
        ins = ("图中的自行车是什么颜色的？请详细描述。🚲" if zh else
               "What colour is the bicycle leaning against the bakery wall, and what is written on the sign?") + str(i % 50000)
        resp = ("自行车是红色的，停在面包店门口。🙂" * 6) if zh else ("The bicycle is red, with a black seat and a basket. " * 4)
        h = lambda p, r, t: {"prompt": p, "response": r, "model": "Qwen2-VL-7B", "finish_reason": "stop",
                             "usage": {"prompt_tokens": 300, "completion_tokens": t, "total_tokens": 300 + t},
                             "latency_ms": random.randint(200, 9000), "attempts": 1, "created": 1795807232.6}
        rec = {"id": i, "image": "images/%d.jpg" % (i % 200), "instruction": ins, "response": resp,
               "scores": {k: random.randint(1, 5) for k in ("solvability", "hallucination", "clarity")} | {"nonsense": 5},
               "history": {"hook": h("", ins, 40), "respond": h(ins, resp, 120)}}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
import os; os.rename(path + ".tmp", path)
PY
}
make_data "$small" "$WORK/report-$small.jsonl"
make_data "$big" "$WORK/report-$big.jsonl"
python3 - "$bin" "$WORK/report-$small.jsonl" "$WORK/report-$big.jsonl" <<'PY'
import os, subprocess, sys, time
binary, small, big = sys.argv[1:]
def run(cmd):
    t = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {r.stderr[-500:]}")
    return time.time() - t, int(r.stderr.strip().splitlines()[-1])
baseline = """
import json, sys
counts = {}
for line in open(sys.argv[1], encoding="utf-8"):
    for k, v in json.loads(line).get("scores", {}).items():
        counts[(k, v)] = counts.get((k, v), 0) + 1
print(len(counts))
"""
for path in (small, big):
    mb = os.path.getsize(path) / 1e6
    t, rss = run([binary, "--json", path])
    th, rssh = run([binary, path, "-o", path + ".html"])
    tp, _ = run(["python3", "-c", baseline, path])
    print(f"{os.path.basename(path)}: {mb:.0f} MB; mminf-report --json {t:.2f} s = {mb / t:.0f} MB/s, "
          f"peak RSS {rss / 1024:.0f} MB; HTML {th:.2f} s, {rssh / 1024:.0f} MB; "
          f"python3 json loop (scores only) {tp:.2f} s = {mb / tp:.0f} MB/s; ratio {tp / t:.1f}x")
PY
