#!/usr/bin/env bash
# Does mminf-gen keep a server's batch full? The test double stands in for a
# server with K=32 slots and log-normal latency (median 200 ms, sigma 0.6: a
# long tail). The best any client can do is K / mean latency requests per
# second. mminf-gen at concurrency 32 against that bound, and against the
# reference's batch-barrier scheme (send K, wait for all K) in the same run.
# One command: bench/saturation.sh
source "$(dirname "$0")/lib.sh"
build_release
bench_python
N="${BENCH_REQUESTS:-3000}"
K=32
MEDIAN=200
SIGMA=0.6
portfile="$WORK/double.port"
rm -f "$portfile"
python3 Tests/double/chat_double.py --port 0 --port-file "$portfile" \
  --faults "{\"slots\":$K,\"latency_lognormal\":{\"median_ms\":$MEDIAN,\"sigma\":$SIGMA},\"seed\":1}" 2>/dev/null &
double=$!
trap 'kill $double 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$portfile")/v1"
make_questions "$N" "$WORK/questions-$N.jsonl"

start=$(date +%s.%N)
"$BIN/mminf-gen" --base-url "$url" --prompt '{question}' --concurrency $K --progress 0 -q --no-history --no-media \
  "$WORK/questions-$N.jsonl" >/dev/null
end=$(date +%s.%N)
barrier=$("$PY" bench/batch_barrier.py "$url" "$N" "$K")

python3 - "$N" "$K" "$MEDIAN" "$SIGMA" "$start" "$end" "$barrier" <<'PY'
import math, sys
n, k = int(sys.argv[1]), int(sys.argv[2])
median, sigma = float(sys.argv[3]) / 1000, float(sys.argv[4])
t_gen = float(sys.argv[6]) - float(sys.argv[5])
t_barrier = float(sys.argv[7])
mean = median * math.exp(sigma ** 2 / 2)          # mean of the log-normal
bound = k / mean
gen, barrier = n / t_gen, n / t_barrier
print(f"{n} requests, K={k} slots, latency log-normal median {median * 1000:.0f} ms sigma {sigma} (mean {mean * 1000:.0f} ms)")
print(f"ideal K / mean latency:           {bound:7.1f} req/s")
print(f"mminf-gen --concurrency {k}:       {gen:7.1f} req/s  ({t_gen:.1f} s)")
print(f"batch barrier (send K, wait all): {barrier:7.1f} req/s  ({t_barrier:.1f} s)")
print(f"mminf-gen reaches {gen / bound * 100:.1f}% of the bound (target >= 97%) {'ok' if gen / bound >= 0.97 else 'MISSED'}")
print(f"mminf-gen vs batch barrier: {gen / barrier:.2f}x (target >= 1.3x) {'ok' if gen / barrier >= 1.3 else 'MISSED'}")
PY
