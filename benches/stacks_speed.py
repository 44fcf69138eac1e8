#!/usr/bin/env python3
"""Capturing every thread's native stack of a live process: leakcheck's hang watch (stop with
ptrace, unwind with CFI, symbolize), `gdb -batch -ex 'thread apply all bt'` and `eu-stack`.

    cargo build --release -p leakcheck-benches --bin stacks_bench
    benches/stacks_speed.py [--threads 10] [--rounds 5]

The target is python3.11-dbg with N threads (the main one included) blocked in
threading.Event.wait(). Prints each tool's median wall time (whole process), and leakcheck's
in-process time per capture with a warm symbolizer (what the watch pays once it has symbolized
a process's modules). Target: <= 50 ms for 10 threads.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = """
import threading, sys
stop = threading.Event()
threads = [threading.Thread(target=stop.wait) for _ in range(int(sys.argv[1]) - 1)]
for t in threads: t.start()
print("ready", flush=True)
stop.wait()
"""


def timed(argv):
    start = time.perf_counter()
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bench", default=os.path.join(HERE, "..", "target", "release", "stacks_bench"))
    args = parser.parse_args()
    target = subprocess.Popen(["python3.11-dbg", "-c", TARGET, str(args.threads)], stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout.readline().strip() == "ready"
        pid = str(target.pid)
        tools = {
            "leakcheck (whole process)": [args.bench, pid],
            "eu-stack": ["eu-stack", "-p", pid],
            "gdb -batch": ["gdb", "-batch", "-p", pid, "-ex", "thread apply all bt"],
        }
        for name, argv in tools.items():
            times = []
            for _ in range(args.rounds):
                elapsed, out = timed(argv)
                if out.returncode != 0:
                    sys.exit(f"{name} failed: {out.stderr[-500:]}")
                times.append(elapsed)
            print(f"{name:28} median {statistics.median(times) * 1e3:8.1f} ms over {args.rounds} runs")
        _, out = timed([args.bench, pid, str(args.rounds + 1)])
        warm = [float(m) for m in re.findall(r"round (?:[2-9]|\d\d+): \d+ threads in ([\d.]+) ms", out.stderr)]
        threads = re.search(r"round 1: (\d+) threads", out.stderr).group(1)
        print(f"{'leakcheck (in process, warm)':28} median {statistics.median(warm):8.1f} ms for {threads} threads")
    finally:
        target.kill()
        target.wait()


if __name__ == "__main__":
    main()
