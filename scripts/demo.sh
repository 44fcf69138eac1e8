#!/usr/bin/env bash
# The main job on a real example: build leakcheck, then run real CPython tests (test_list,
# test_set) under `python3.11-dbg -m test -R 3:3` with a planted PyMem_RawMalloc leak among them
# (c/regrtest/test_leak_raw.py), which regrtest itself cannot see. Writes
# target/demo/report.json and checks that leakcheck found exactly that leak.
set -euo pipefail
cd "$(dirname "$0")/.."
LEAKCHECK_SKIP_ASAN_PYTHON=1 LEAKCHECK_SKIP_SID_ROOT=1 ./scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --locked -p leakcheck
rm -rf target/demo && mkdir -p target/demo
testdir=$(cargo run --release --locked -q -p leakcheck-fixtures --bin leakcheck-fixture-testdir -- target/demo/testdir)

set +e
target/release/leakcheck --json target/demo/report.json --log target/demo/output.log -- \
    python3.11-dbg -m test -R 3:3 --testdir "$testdir" test.test_list test.test_set test_leak_raw test_balanced
status=$?
set -e

echo
echo "demo: leakcheck exited with status $status; JSON report: target/demo/report.json, log: target/demo/output.log"
python3.11-dbg - "$status" <<'PY'
import json, sys
status = int(sys.argv[1])
with open("target/demo/report.json") as f:
    report = json.load(f)
leaked = report["summary"]["leaked_not_reported_by_regrtest"]
ok = status == 101 and leaked == ["test_leak_raw"]
print("demo: " + ("as expected: only the planted raw-domain leak was found, and regrtest did not report it"
                  if ok else f"UNEXPECTED: status {status}, leaked {leaked}"))
sys.exit(0 if ok else 1)
PY
