#!/usr/bin/env python3
"""Deadlock to report: how long leakcheck takes, with default settings, from the moment a test
deadlocks to its HANG line.

    cargo build --release -p leakcheck
    benches/hang_latency.py [--rounds 5] [--leakcheck PATH] [--testdir DIR]

The test is c/regrtest/test_hang_mutex_cycle.py (two C threads take two mutexes in opposite
order, within milliseconds of the test's start). The clock starts when regrtest announces the
test (`[1/1] test_hang_mutex_cycle`) and stops at leakcheck's `leakcheck: HANG` line.
Target: <= 5 s.
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def one(leakcheck, testdir):
    proc = subprocess.Popen(
        [leakcheck, "--", "python3.11-dbg", "-m", "test", "--testdir", testdir, "test_hang_mutex_cycle"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = {}

    def watch(stream, needle, key):
        for line in stream:
            if needle in line and key not in seen:
                seen[key] = time.perf_counter()

    threads = [threading.Thread(target=watch, args=(proc.stdout, b"test_hang_mutex_cycle", "start")),
               threading.Thread(target=watch, args=(proc.stderr, b"leakcheck: HANG", "report"))]
    for t in threads:
        t.start()
    proc.wait(timeout=120)
    for t in threads:
        t.join()
    if "start" not in seen or "report" not in seen:
        sys.exit(f"no HANG line (exit {proc.returncode})")
    return seen["report"] - seen["start"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--leakcheck", default=os.path.join(HERE, "..", "target", "release", "leakcheck"))
    parser.add_argument("--testdir", default=None)
    args = parser.parse_args()
    testdir = args.testdir or subprocess.run(
        ["cargo", "run", "--release", "-q", "-p", "leakcheck-fixtures", "--bin", "leakcheck-fixture-testdir", "--",
         os.path.join(HERE, "..", "target", "hang-latency-testdir")],
        check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    times = [one(args.leakcheck, testdir) for _ in range(args.rounds)]
    print("deadlock to report: " + ", ".join(f"{t:.2f} s" for t in times))
    print(f"median {statistics.median(times):.2f} s over {args.rounds} runs")


if __name__ == "__main__":
    main()
