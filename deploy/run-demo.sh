#!/usr/bin/env bash
# Builds gridline-server and runs the demo in the foreground:
#   - listens on 127.0.0.1:50051 (plaintext gRPC, loopback only),
#   - stores into SQLite at var/gridline-demo.db,
#   - loads the Xinzheng demo organisation and prints its demo tokens.
# Stop it with Ctrl-C (SIGINT) or SIGTERM. Works from any directory.
#
#   bash deploy/run-demo.sh [extra gridline-server flags, e.g. --listen 127.0.0.1:50052]
#
# Needs root (or sudo, as printed) only the first time, to install missing Debian packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== gridline demo: checking build dependencies"
bash deploy/install-deps.sh

# The same build type and flags as deploy/test.sh, so running one after the other does not
# rebuild everything.
echo "== gridline demo: building gridline-server (build/, Release -O2)"
source deploy/lib.sh
prefer_ninja
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
cmake --build build --target gridline-server -j"$(nproc)"

mkdir -p var

echo "== gridline demo: starting build/server/gridline-server --config deploy/demo/server.textproto $*"
exec build/server/gridline-server --config deploy/demo/server.textproto "$@"
