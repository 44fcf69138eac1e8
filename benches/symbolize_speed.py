#!/usr/bin/env python3
"""Whole-process symbolization speed: leakcheck against llvm-symbolizer, binutils addr2line
and a plain loop over the `addr2line` crate, on the same random addresses of a module.

    cargo build --release -p leakcheck -p leakcheck-benches --bin leakcheck --bin symbolize_bench
    benches/symbolize_speed.py [--module /usr/bin/python3.11d] [--addresses 100000] [--runs 7]

Each contender reads the addresses (one `0x...` per line) on stdin and writes its answers to a
file; runs are interleaved (contender order rotated every round) and the median wall time is
reported as addresses per second. Answers are compared with llvm-symbolizer's, per address:
byte for byte for the contenders that print its format (`exact`), and as the chain of
(function, file, line) for binutils, which prints its own format (`same f/f/l`).
Results and their reading: benches/README.md.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BENCH_BIN = os.path.join(TARGET_DIR, "release", "symbolize_bench")
LEAKCHECK = os.path.join(TARGET_DIR, "release", "leakcheck")


def text_range(module):
    """(start, end) of .text, from readelf."""
    out = subprocess.run(["readelf", "-SW", module], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if " .text " in line:
            fields = line.split("]", 1)[1].split()
            start, size = int(fields[2], 16), int(fields[4], 16)
            return start, start + size
    sys.exit(f"{module}: no .text section")


def contenders(module):
    tools = {}
    if os.path.exists(LEAKCHECK):
        tools["leakcheck symbolize --exe"] = [LEAKCHECK, "symbolize", "--exe", module]
    return tools | {
        "symbolize_stream (bench binary)": [BENCH_BIN, "leakcheck", module],
        "llvm-symbolizer --obj": ["llvm-symbolizer", f"--obj={module}"],
        "binutils addr2line -f -i -C": ["addr2line", "-a", "-f", "-i", "-C", "-e", module],
        "addr2line crate, plain Loader loop": [BENCH_BIN, "addr2line", module],
    }


def run(command, input_path, output_path):
    with open(input_path, "rb") as stdin, open(output_path, "wb") as stdout:
        start = time.perf_counter()
        subprocess.run(command, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start


def llvm_answers(text):
    """Per address: the list of (function, file, line) frames of llvm-symbolizer's format."""
    answers = []
    for block in text.split("\n\n"):
        if not block:
            continue
        lines = block.split("\n")
        frames = []
        for function, location in zip(lines[0::2], lines[1::2]):
            file, line, _column = location.rsplit(":", 2)
            frames.append((function, file, int(line)))
        answers.append(frames)
    return answers


def binutils_answers(text):
    """Per address, from `addr2line -a -f -i`: address line, then function/location pairs."""
    answers = []
    frames = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) == 18 and line.startswith("0x") and all(c in "0123456789abcdef" for c in line[2:]):
            if frames is not None:
                answers.append(frames)
            frames = []
            i += 1
            continue
        if not line:
            i += 1
            continue
        function, location = line, lines[i + 1] if i + 1 < len(lines) else "??:0"
        location = location.split(" (discriminator")[0]
        file, _, number = location.rpartition(":")
        frames.append((function, file, int(number) if number.isdigit() else 0))
        i += 2
    if frames is not None:
        answers.append(frames)
    return answers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", default="/usr/bin/python3.11d")
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not os.path.exists(BENCH_BIN):
        sys.exit(f"{BENCH_BIN} missing: cargo build --release -p leakcheck-benches --bin symbolize_bench")

    start, end = text_range(args.module)
    rng = random.Random(args.seed)
    addresses = [rng.randrange(start, end) for _ in range(args.addresses)]
    with tempfile.TemporaryDirectory(prefix="symbolize-speed-") as work:
        input_path = os.path.join(work, "addresses.txt")
        with open(input_path, "w") as f:
            f.writelines(f"{a:#018x}\n" for a in addresses)
        tools = contenders(args.module)
        times = {name: [] for name in tools}
        names = list(tools)
        for round_ in range(args.runs):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                output = os.path.join(work, f"{names.index(name)}.out")
                times[name].append(run(tools[name], input_path, output))
        outputs = {}
        for name in names:
            with open(os.path.join(work, f"{names.index(name)}.out"), encoding="utf-8", errors="replace") as f:
                outputs[name] = f.read()

    reference_text = outputs["llvm-symbolizer --obj"]
    reference = llvm_answers(reference_text)
    reference_blocks = reference_text.split("\n\n")[:-1]
    print(f"{args.module}: {args.addresses} random addresses in .text, median of {args.runs} runs")
    print("| contender | median wall time | addresses/s | answers equal to llvm-symbolizer's |")
    print("|---|---|---|---|")
    for name in names:
        median = statistics.median(times[name])
        if name.startswith("binutils"):
            theirs = binutils_answers(outputs[name])
            same = sum(a == b for a, b in zip(theirs, reference))
            agreement = f"{same / len(reference):.2%} same function/file/line chain"
        else:
            blocks = outputs[name].split("\n\n")[:-1]
            same = sum(a == b for a, b in zip(blocks, reference_blocks))
            agreement = f"{same / len(reference_blocks):.2%} byte-identical"
        print(f"| {name} | {median * 1000:.0f} ms | {args.addresses / median / 1000:.0f}k | {agreement} |")


if __name__ == "__main__":
    main()
