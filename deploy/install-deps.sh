#!/usr/bin/env bash
# Installs the Debian 12 packages gridline needs to build, and with --test also those the test
# suite needs (a throwaway MariaDB server, Debian's python3 with grpcio, and the openssl CLI that
# makes the TLS test's certificates, curl for the metrics scrape and the Connect endpoint, file for
# CPack's .deb check, clang and libFuzzer for the fuzz harnesses of bench/fuzz.sh, Galera, HAProxy
# and rsync for the loopback cluster of deploy/cluster/start.sh that cluster_e2e_test starts,
# node and npm for the connect-node client of ctest connect_node and for the web console, and
# Debian's chromium, with a small Chinese font for the screenshots, for the browser tests
# browser_walk and connect_web). With --console: node and npm, which build the web console
# (web/console; deploy/run-demo.sh serves it).
#
#   bash deploy/install-deps.sh            # build dependencies
#   bash deploy/install-deps.sh --console  # build dependencies + node and npm for the web console
#   bash deploy/install-deps.sh --test     # build + test dependencies (the console's included)
#
# Installs only what is missing; does nothing if everything is there. As root it runs apt-get;
# otherwise it prints the command to run and exits 1.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev
  libsqlite3-dev libmysqlcppconn-dev libssl-dev libboost-dev
  libjpeg62-turbo-dev libpng-dev libwebp-dev zlib1g-dev
  libgeos-dev nlohmann-json3-dev libpugixml-dev
  libgtest-dev libgmock-dev
)
TEST_PACKAGES=(mariadb-server mariadb-client python3 python3-grpcio openssl curl file
  clang-14 libfuzzer-14-dev galera-4 haproxy rsync chromium fonts-wqy-microhei)

usage() {
  echo "usage: $0 [--console] [--test]" >&2
  exit 2
}

packages=("${BUILD_PACKAGES[@]}")
for arg in "$@"; do
  case "$arg" in
    --test|--console)
      if [[ "$arg" == --test ]]; then packages+=("${TEST_PACKAGES[@]}"); fi
      # Node.js for tests/connect_node, tests/browser and the web console. A node from elsewhere
      # (nodesource, nvm) is used as it is: Debian's npm package conflicts with nodesource's
      # nodejs, which brings its own npm.
      if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        if [[ " ${packages[*]} " != *" nodejs "* ]]; then packages+=(nodejs npm); fi
      fi
      ;;
    -h|--help) usage ;;
    *) echo "install-deps.sh: unknown argument '$arg'" >&2; usage ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: this script needs Debian 12 (dpkg and apt-get); install by hand:" >&2
  echo "  ${packages[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  # "ii " = installed and configured.
  if [[ "$status" != ii* ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} required packages are installed"
  exit 0
fi

echo "install-deps.sh: missing packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: not root; install them with:" >&2
  echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps.sh: installed ${missing[*]}"
