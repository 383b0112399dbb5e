#!/usr/bin/env python3
"""The direction of the server's layers, checked on the includes (ARCHITECTURE.md, issue 12).

CMake gives every library the repository root as its include path, so the compiler alone would let
server/domain include the store or gRPC. This check reads every file under server/ and fails on:
  - an include of a layer the file's layer may not use (the table below);
  - gRPC, protobuf or generated-proto headers (the API's and the replicas' own) outside api/,
    http/ and app/;
  - SQL driver headers (sqlite3, MySQL Connector/C++) outside store/;
  - the machine's clock in domain/ (time is passed in) or in service/ (it takes a util::Clock).

Usage: layering_check.py REPO_ROOT  (exit 1 with one line per violation)
"""
import os
import re
import sys

# Which server/ folders each folder may include (itself included).
ALLOWED = {
    "util": {"util"},
    "domain": {"domain", "util"},
    "store": {"store", "domain", "util"},
    "service": {"service", "store", "domain", "util"},
    "runtime": {"runtime", "service", "store", "domain", "util"},
    "api": {"api", "runtime", "service", "store", "domain", "util"},
    # The HTTP front doors (Connect): they call the gRPC handlers in-process, so they need only
    # gRPC, protobuf and the few names api/ shares with them (server/api/forwarded.h).
    "http": {"http", "api", "util"},
    "app": {"app", "http", "api", "runtime", "service", "store", "domain", "util"},
}
GRPC = re.compile(
    r'#include\s*[<"](grpc|grpcpp|google/protobuf|google/rpc|gridline/v1|gridline/internal)/')
SQL = re.compile(r'#include\s*[<"](sqlite3\.h|mysql|cppconn/|mysql_connection\.h|mysql_driver\.h)')
OWN = re.compile(r'#include\s*"server/(\w+)/')
CLOCK = re.compile(r"\b(system_clock::now|steady_clock::now|absl::Now\(|time\(nullptr\)|"
                   r"gettimeofday|clock_gettime|WallClock\(\))")


def check(root):
    problems = []
    server = os.path.join(root, "server")
    for folder in sorted(os.listdir(server)):
        path = os.path.join(server, folder)
        if not os.path.isdir(path):
            continue
        if folder not in ALLOWED:
            problems.append(f"server/{folder}/: a folder the layering table does not know")
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".h", ".cc")):
                continue
            rel = f"server/{folder}/{name}"
            with open(os.path.join(path, name), encoding="utf-8") as f:
                lines = f.read().split("\n")
            for number, line in enumerate(lines, 1):
                where = f"{rel}:{number}"
                m = OWN.search(line)
                if m and m.group(1) not in ALLOWED[folder]:
                    problems.append(f"{where}: {folder}/ may not include server/{m.group(1)}/")
                if GRPC.search(line) and folder not in ("api", "http", "app"):
                    problems.append(
                        f"{where}: gRPC or protobuf in {folder}/ (only api/, http/ and app/)")
                if SQL.search(line) and folder != "store":
                    problems.append(f"{where}: an SQL driver in {folder}/ (only store/)")
                code = line.split("//")[0]
                if folder in ("domain", "service") and CLOCK.search(code):
                    problems.append(f"{where}: reads the clock in {folder}/ "
                                    "(domain takes `now`, service a util::Clock)")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"layering_check: {len(problems)} violation(s)")
        return 1
    print("layering_check: every include points down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
