#!/usr/bin/env bash
# ctest connect_node: an independent Connect client (connect-node, HTTP/1.1) against a real
# gridline-server. The npm packages are pinned by package-lock.json and installed with `npm ci`
# into the build directory; the client's code is generated at test time from proto/ by protoc
# (Debian's) with the protoc-gen-es plugin of those packages. Exit 77 (ctest: skipped) when node or
# npm is missing (deploy/install-deps.sh --test installs them).
#
#   run.sh BUILD_DIR SOURCE_DIR SERVER_BINARY
set -euo pipefail
build=$1
source=$2
server=$3

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "connect_node: node and npm are not installed; skipped"
  exit 77
fi
work="$build/connect_node"
mkdir -p "$work"
cp "$source/tests/connect_node/package.json" "$source/tests/connect_node/package-lock.json" \
  "$source/tests/connect_node/client.mjs" "$work/"
cd "$work"
# Installed again only when the lock file changed.
if ! cmp -s package-lock.json node_modules/.gridline-package-lock.json; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.gridline-package-lock.json
fi
rm -rf gen
mkdir gen
(cd "$source/proto" && protoc -I. --plugin=protoc-gen-es="$work/node_modules/.bin/protoc-gen-es" \
  --es_out="$work/gen" --es_opt=target=js,import_extension=js \
  gridline/v1/*.proto google/rpc/*.proto)

source "$source/tests/http_server.sh"
grpc_port=$(free_port)
http_port=$(free_port)
start_server connect_node "$server" --listen "127.0.0.1:$grpc_port" \
  --http_listen "127.0.0.1:$http_port" --sqlite "$tmp/gridline.db" \
  --organisation "$source/deploy/demo/organisation.textproto" --demo
status=0
node client.mjs "$http_port" demo-leader-1-a5afbedb015471db || status=$?
stop_server connect_node "$status"
