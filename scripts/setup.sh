#!/usr/bin/env bash
# Installs the system packages mminf builds and tests with. Idempotent: it only
# calls apt-get when a package is missing, so a warm machine pays nothing.
set -euo pipefail

packages=(
  pkg-config
  libzstd-dev      # zstd input/output (CZstd target)
  libpcre2-dev     # regular expressions (CPCRE2 target)
  libcurl4-openssl-dev  # HTTP to model servers (CCurl target)
  libsqlite3-dev   # the response cache (CSQLite target)
  libssl-dev       # SHA-256 from OpenSSL's libcrypto (COpenSSL target)
  libyaml-dev      # pipeline files for mminf-compile (CYAML target)
  shellcheck       # tests check every compiled pipeline script with it
  slurm-wlm munge  # a one-node Slurm cluster for the tests (scripts/slurm-cluster.sh)
  libgd-dev        # report thumbnails: decode, scale, encode images (CGD target)
  chromium         # the report's HTML is tested in a real, headless browser
  zstd jq          # benchmarks compare against these
  time             # /usr/bin/time for peak RSS in benchmarks
  curl             # scripts/llama-server.sh waits for /health with it
  cmake build-essential unzip  # scripts/llama-server.sh builds llama.cpp's server and unpacks the model
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup.sh: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup.sh: system packages present" >&2
fi
