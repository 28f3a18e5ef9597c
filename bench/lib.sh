# Shared by the bench scripts: build the tools, a venv for Python baselines,
# and nginx on loopback answering every chat-completions POST the same way.
set -euo pipefail
# `bench/NAME.sh --help` prints the script's opening comment and runs nothing.
if [ "${1:-}" = "--help" ]; then
  sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p'
  exit 0
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="${MMINF_CACHE:-$HOME/.cache/mminf}"
WORK="$CACHE/bench"
mkdir -p "$WORK"

build_release() {
  scripts/setup.sh
  swift build -c release >&2
  BIN="$(swift build -c release --show-bin-path)"
}

# python3 with aiohttp, in a venv kept in the cache.
bench_python() {
  local venv="$CACHE/bench-venv"
  if ! "$venv/bin/python" -c 'import aiohttp' 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q aiohttp >&2
  fi
  PY="$venv/bin/python"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# nginx answering POST /v1/chat/completions with a fixed completion.
start_nginx() {
  command -v nginx >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null; }
  NGINX_PORT="$(free_port)"
  local dir="$WORK/nginx"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_max_body_size 0;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /v1/models {
      default_type application/json;
      return 200 '{"object":"list","data":[{"id":"bench-model","object":"model"}]}';
    }
    location = /v1/chat/completions {
      default_type application/json;
      return 200 '{"id":"cmpl-bench","object":"chat.completion","created":1,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"A fixed answer from nginx, the same for every request."},"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":12,"total_tokens":36}}';
    }
  }
}
CONF
  nginx -c "$dir/nginx.conf"
  trap 'stop_nginx' EXIT
}

stop_nginx() {
  [ -f "$WORK/nginx/nginx.pid" ] && kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
}

# Records with a question each.
make_questions() {
  local n=$1 out=$2
  [ -s "$out" ] && return 0
  python3 - "$n" >"$out" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": f"q{i:07d}", "image": f"images/{i:07d}.jpg",
                      "question": f"What is shown in picture number {i}, and what colour is the largest object?"}))
PY
}

# "user system wall maxrss_kb" of a command.
measure() {
  /usr/bin/time -f "%U %S %e %M" -o "$WORK/time.txt" "$@" >/dev/null
  cat "$WORK/time.txt"
}
