#!/usr/bin/env bash
# The image path: mminf-gen --respond against a plain Python asyncio (aiohttp)
# client that reads, base64-encodes and posts each image the same way, both at
# concurrency 64 to nginx on loopback (a fixed answer, so the client is all that
# is measured). 3,000 records cycling over 200 distinct ~300 KB JPEGs of random
# noise (made with Pillow, seeded); then mminf-gen's peak RSS at 3,000 and
# 100,000 records, and 10 images of ~2 MB. One command: bench/media.sh
source "$(dirname "$0")/lib.sh"
build_release
bench_python
"$PY" -c 'import PIL' 2>/dev/null || "$(dirname "$PY")/pip" install -q pillow >&2
start_nginx
url="http://127.0.0.1:$NGINX_PORT/v1"
M="$WORK/media"
mkdir -p "$M"
"$PY" - "$M" <<'PY'
import json, os, random, sys
from PIL import Image
root = sys.argv[1]
def make(name, side, seed, quality):
    path = os.path.join(root, name)
    if not os.path.exists(path):
        rnd = random.Random(seed)
        img = Image.frombytes("RGB", (side, side), bytes(rnd.getrandbits(8) for _ in range(side * side * 3)))
        img.save(path, "JPEG", quality=quality)
    return path
small = [make(f"img-{i:03d}.jpg", 580, i, 90) for i in range(200)]
big = [make(f"big-{i:02d}.jpg", 1450, 1000 + i, 92) for i in range(10)]
def records(name, n, images):
    path = os.path.join(root, name)
    if not os.path.exists(path):
        with open(path, "w") as f:
            for i in range(n):
                f.write(json.dumps({"id": i, "image": images[i % len(images)],
                                    "instruction": f"What is in picture {i}? 这张图片里有什么？ 🖼️"}, ensure_ascii=False) + "\n")
    return path
records("r3000.jsonl", 3000, small)
records("r100000.jsonl", 100000, small)
records("big100.jsonl", 100, big)
PY
gen=("$BIN/mminf-gen" --base-url "$url" --model bench-model --respond --concurrency 64 --progress 0 -q --no-history)
read -r mu ms mw mr < <(measure "${gen[@]}" "$M/r3000.jsonl")
read -r pu ps pw pr < <(measure "$PY" bench/aiohttp_client.py "$url" "$M/r3000.jsonl" 64 --media)
read -r _ _ _ r100k < <(measure "${gen[@]}" "$M/r100000.jsonl")
read -r bu bs bw br < <(measure "${gen[@]}" "$M/big100.jsonl")
read -r qu qs qw qr < <(measure "$PY" bench/aiohttp_client.py "$url" "$M/big100.jsonl" 64 --media)
small_kb=$(du -k "$M/img-000.jpg" | cut -f1); big_kb=$(du -k "$M/big-00.jpg" | cut -f1)
python3 - "$mu" "$ms" "$mw" "$mr" "$pu" "$ps" "$pw" "$pr" "$r100k" "$bu" "$bs" "$bw" "$br" "$qu" "$qs" "$qw" "$qr" "$small_kb" "$big_kb" <<'PY'
import sys
v = list(map(float, sys.argv[1:]))
mu, ms, mw, mr, pu, ps, pw, pr, r100k, bu, bs, bw, br, qu, qs, qw, qr, skb, bkb = v
mc, pc = mu + ms, pu + ps
print(f"3000 records, 200 distinct JPEGs of ~{skb:.0f} KB, --respond, concurrency 64, nginx on loopback")
print(f"{'client':<30}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}")
print(f"{'mminf-gen':<30}{mw:>8.2f}{mc:>8.2f}{mr / 1024:>13.0f}")
print(f"{'python3 asyncio + aiohttp':<30}{pw:>8.2f}{pc:>8.2f}{pr / 1024:>13.0f}")
cpu, speed = pc / mc, pw / mw
print(f"CPU: mminf-gen uses 1/{cpu:.1f} of the Python client's (target <= 1/3) {'ok' if cpu >= 3 else 'MISSED'}")
print(f"wall: mminf-gen finishes {speed:.1f}x sooner (target >= 2x) {'ok' if speed >= 2 else 'MISSED'}")
# The memory bound: 64 MB + concurrency x largest body x 2 (a body is ~4/3 of the image).
bound = 64 + 64 * (skb * 4 / 3 / 1024) * 2
for n, rss in [(3000, mr), (100000, r100k)]:
    print(f"peak RSS at {n} records: {rss / 1024:.0f} MB (bound {bound:.0f} MB) {'ok' if rss / 1024 <= bound else 'MISSED'}")
print(f"100 records over 10 JPEGs of ~{bkb:.0f} KB: mminf-gen {bw:.2f} s, {bu + bs:.2f} CPU-s, {br / 1024:.0f} MB; "
      f"python {qw:.2f} s, {qu + qs:.2f} CPU-s, {qr / 1024:.0f} MB (reported)")
PY
