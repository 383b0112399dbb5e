#!/usr/bin/env bash
# Builds gridline-server and runs the demo in the foreground:
#   - listens on 127.0.0.1:50051 (plaintext gRPC, loopback only),
#   - stores into SQLite at var/gridline-demo.db,
#   - loads the Xinzheng demo organisation and prints its demo tokens,
#   - serves the web console and the Connect API at http://127.0.0.1:8080/ (sign in with a
#     printed token, e.g. the dispatcher's or a department's).
# Stop it with Ctrl-C (SIGINT) or SIGTERM. Works from any directory.
#
#   bash deploy/run-demo.sh [extra gridline-server flags, e.g. --listen 127.0.0.1:50052]
#
# Needs root (or sudo, as printed) only the first time, to install missing Debian packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== gridline demo: checking build dependencies"
bash deploy/install-deps.sh --console

# The same build type and flags as deploy/test.sh, so running one after the other does not
# rebuild everything.
echo "== gridline demo: building gridline-server and the web console (build/, Release -O2)"
source deploy/lib.sh
prefer_ninja
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
cmake --build build --target gridline-server gridline_console -j"$(nproc)"

mkdir -p var

# The web console and the Connect API on http://127.0.0.1:8080/ (loopback only).
http_flags=(--http_listen 127.0.0.1:8080 --console_dir build/web/console)
echo "== gridline demo: web console at http://127.0.0.1:8080/"
echo "== gridline demo: starting build/server/gridline-server --config deploy/demo/server.textproto ${http_flags[*]} $*"
exec build/server/gridline-server --config deploy/demo/server.textproto "${http_flags[@]}" "$@"
