#!/usr/bin/env python3
"""Whole-process cost of leakcheck: wall time of a real regrtest -R run with and without it.

Runs the two commands alternately (the order flips every pair, so drift and caches hit both
alike), then prints the median of each and the median of the per-pair ratios.

    benches/whole_process.py [--pairs N] [--leakcheck PATH] [--python python3.11-dbg] [TESTS...]

Default: 10 pairs of `python3.11-dbg -m test -R 3:3 test_list test_dict`.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(argv, cwd):
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv!r} exited {proc.returncode}")
    return elapsed


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--leakcheck", default=os.path.join(here, "..", "target", "release", "leakcheck"))
    parser.add_argument("--python", default="python3.11-dbg")
    parser.add_argument("--extra", default="", help="extra leakcheck flags, space-separated")
    parser.add_argument("tests", nargs="*", default=["test_list", "test_dict"])
    args = parser.parse_args()

    plain = [args.python, "-m", "test", "-R", "3:3", *args.tests]
    with tempfile.TemporaryDirectory() as work:
        wrapped = [args.leakcheck, *args.extra.split(), "--run-dir", "", "--", *plain]
        plain_times, wrapped_times, ratios = [], [], []
        for i in range(args.pairs):
            run_dir = os.path.join(work, f"run{i}")
            wrapped[wrapped.index("--run-dir") + 1] = run_dir
            if i % 2 == 0:
                p = run(plain, work)
                w = run(wrapped, work)
            else:
                w = run(wrapped, work)
                p = run(plain, work)
            plain_times.append(p)
            wrapped_times.append(w)
            ratios.append(w / p)
            print(f"pair {i + 1}: plain {p:.2f} s, leakcheck {w:.2f} s, ratio {w / p:.3f}", flush=True)
    print(f"command: {' '.join(plain)}")
    print(f"median plain {statistics.median(plain_times):.2f} s, "
          f"median leakcheck {statistics.median(wrapped_times):.2f} s, "
          f"median ratio {statistics.median(ratios):.3f} over {args.pairs} pairs")


if __name__ == "__main__":
    main()
