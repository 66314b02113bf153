#!/usr/bin/env bash
# Installs graft's build and run-time dependencies from Debian 12 packages.
# Usage: sudo tools/install-deps.sh   (or as root)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev                      # LibTorch 1.13 (CPU)
  libopenblas0-openmp               # fast BLAS: Debian's reference BLAS is ~15x slower (see docs/performance.md)
  libboost-dev libboost-program-options-dev
  libsentencepiece-dev libtomlplusplus-dev libspdlog-dev doctest-dev
  nlohmann-json3-dev libutf8proc-dev
  libpcre2-dev                      # Unicode regexes (GPT-2 / byte-level BPE pre-tokenization, Split)
  libcurl4-openssl-dev              # hub downloads
  libssl-dev                        # SHA-256 keys of the feature cache (OpenSSL libcrypto)
  libcpp-httplib-dev                # local hub server in tests
  chromium                          # headless rendering test of report.html
)
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
