#!/usr/bin/env python3
"""Whole-process cost of leakcheck: wall time of a real regrtest -R run, plain and under each
variant, interleaved (the order reverses every round, so drift and caches hit all alike).

    benches/whole_process.py [--rounds N] [--leakcheck PATH] [--python python3.11-dbg]
                             [--memray-python PATH]
                             [--variants plain,counting,attribution,tracemalloc,memray] [TESTS...]

Default: 10 rounds of `python3.11-dbg -m test -R 3:3 test_list test_dict`, variants
plain, counting (`leakcheck --no-attribution`), attribution (`leakcheck`, the default mode).
`tracemalloc` is `python -X tracemalloc=1` without leakcheck, for comparison;
`counting-nowatch` is counting with the hang watch off (`--hang-timeout 0`), to see its cost.
`memray` is `memray run --native` (memray's own native-stack tracking) on the same command,
without leakcheck; memray ships no wheels for the debug interpreter that `-R` needs, so
`--memray-python` names a venv of `python3.11-dbg` with memray built from source (see
benches/README.md). Prints the median
wall time of each variant and its median ratio to plain, paired by round.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(argv, cwd, accepted=(0, 101)):
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    # leakcheck exits 101 when it finds a leak regrtest did not report; anything else but 0 is
    # a broken measurement.
    if proc.returncode not in accepted:
        sys.exit(f"{argv!r} exited {proc.returncode}")
    return elapsed


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--leakcheck", default=os.path.join(here, "..", "target", "release", "leakcheck"))
    parser.add_argument("--python", default="python3.11-dbg")
    parser.add_argument("--memray-python", default="/tmp/memray-dbg/bin/python")
    parser.add_argument("--variants", default="plain,counting,attribution")
    parser.add_argument("tests", nargs="*", default=["test_list", "test_dict"])
    args = parser.parse_args()

    regrtest = ["-m", "test", "-R", "3:3", *args.tests]
    plain = [args.python, *regrtest]
    variants = {
        "plain": lambda run_dir: plain,
        "counting": lambda run_dir: [args.leakcheck, "--no-attribution", "--run-dir", run_dir, "--", *plain],
        "counting-nowatch": lambda run_dir: [args.leakcheck, "--no-attribution", "--hang-timeout", "0", "--run-dir",
                                             run_dir, "--", *plain],
        "attribution": lambda run_dir: [args.leakcheck, "--run-dir", run_dir, "--", *plain],
        "tracemalloc": lambda run_dir: [args.python, "-X", "tracemalloc=1", *regrtest],
        "memray": lambda run_dir: [args.memray_python, "-m", "memray", "run", "--native", "-q", "-f", "-o",
                                   run_dir + ".memray.bin", *regrtest],
    }
    chosen = args.variants.split(",")
    if "plain" not in chosen:
        chosen.insert(0, "plain")
    unknown = [v for v in chosen if v not in variants]
    if unknown:
        sys.exit(f"unknown variants: {unknown}")
    times = {v: [] for v in chosen}
    with tempfile.TemporaryDirectory() as work:
        for i in range(args.rounds):
            order = chosen if i % 2 == 0 else list(reversed(chosen))
            for variant in order:
                run_dir = os.path.join(work, f"{variant}-{i}")
                # Under memray regrtest reports reference leaks in every test (exit 2): memray
                # moves the total reference count that -R compares.
                accepted = (0, 2) if variant == "memray" else (0, 101)
                times[variant].append(run(variants[variant](run_dir), work, accepted))
            print(f"round {i + 1}: " + ", ".join(f"{v} {times[v][-1]:.2f} s" for v in chosen), flush=True)
    print(f"command: {' '.join(plain)}")
    for variant in chosen:
        ratios = [t / p for t, p in zip(times[variant], times["plain"])]
        print(f"{variant:12} median {statistics.median(times[variant]):.2f} s, "
              f"median ratio {statistics.median(ratios):.3f} over {args.rounds} rounds")


if __name__ == "__main__":
    main()
