#!/usr/bin/env python3
"""The kohya-style example on the accel package vs on Hugging Face Accelerate, 2 ranks, one run.

examples/python/train_accel.py is examples/python/train_accelerate.py with its import line changed,
so both run the same model, data, batch, optimizer and precision. Both start under the same
`accel launch --num_processes 2 --cpu` (Gloo, one CPU thread per rank), interleaved A B B A A B ...
so that drifting machine load hits both alike. Per run, from the scripts' own reports: start-up
(script start, imports included, to the first batch, rank 0), micro-batches per second over the
training loop (rank 0), and the peak RSS of the largest rank (getrusage of the launcher's
children). Writes <out>.json and <out>.md with medians and the accel / Accelerate ratios.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

p = argparse.ArgumentParser()
p.add_argument("--cli", required=True)
p.add_argument("--package-dir", required=True)
p.add_argument("--examples", required=True)
p.add_argument("--out", required=True)
p.add_argument("--reps", type=int, default=3)
p.add_argument("--precision", default="no")
p.add_argument("--samples", type=int, default=8192)
p.add_argument("--batch-size", type=int, default=8)
p.add_argument("--accumulation", type=int, default=2)
args = p.parse_args()

SYSTEMS = {"accel": "train_accel.py", "accelerate": "train_accelerate.py"}


def launch_command(system, tag, work):
    """The command, environment and report folder of one 2-rank run of `system`."""
    report = os.path.join(work, f"{system}-{tag}")
    env = dict(os.environ, PYTHONPATH=args.package_dir, OMP_NUM_THREADS="1",
               XDG_CONFIG_HOME=os.path.join(work, "xdg"), ACCEL_PROJECT_DIR=os.path.join(work, f"proj-{system}-{tag}"))
    cmd = [args.cli, "launch", "--num_processes", "2", "--main_process_port", "0", "--cpu",
           "--num_cpu_threads_per_process", "1", "--", sys.executable, os.path.join(args.examples, SYSTEMS[system]),
           "--report-dir", report, "--samples", str(args.samples), "--batch_size", str(args.batch_size),
           "--gradient_accumulation_steps", str(args.accumulation), "--mixed_precision", args.precision,
           "--no_shuffle"]
    return cmd, env, report


def one(system, rep, work):
    cmd, env, report = launch_command(system, rep, work)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.time()
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.time() - t0
    if out.returncode != 0:
        sys.exit(f"{system} rep {rep} failed ({out.returncode}):\n{out.stdout[-4000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, max over every child so far
    with open(os.path.join(report, "accelerate-attempt0-rank0.json")) as f:
        r = json.load(f)
    return {"system": system, "rep": rep, "wall_s": wall, "startup_s": r["startup_seconds"],
            "micro_batches_per_s": r["micro_batches"] / r["train_seconds"], "micro_batches": r["micro_batches"],
            "optimizer_steps": r["optimizer_steps"], "peak_rss_mib": peak / 1024 if peak > before else None,
            "final_loss": r["losses"][-1]}


def main():
    work = tempfile.mkdtemp(prefix="accel-vs-accelerate-")
    runs = []
    order = list(SYSTEMS)
    for rep in range(args.reps):
        for system in (order if rep % 2 == 0 else order[::-1]):
            runs.append(one(system, rep, work))
            print(json.dumps(runs[-1]), flush=True)
    # getrusage's maximum only grows: a run whose peak is below an earlier run's reads None.
    # Measure each system's peak from its first run in a fresh process instead.
    med = {}
    for s in SYSTEMS:
        mine = [r for r in runs if r["system"] == s]
        med[s] = {k: statistics.median(r[k] for r in mine) for k in ("startup_s", "micro_batches_per_s", "wall_s")}
    peaks = {s: peak_of(s, work) for s in SYSTEMS}
    ratio = {
        "micro_batches_per_s": med["accel"]["micro_batches_per_s"] / med["accelerate"]["micro_batches_per_s"],
        "startup_s": med["accel"]["startup_s"] / med["accelerate"]["startup_s"],
        "peak_rss": peaks["accel"] / peaks["accelerate"],
    }
    result = {"settings": vars(args), "runs": runs, "median": med, "peak_rss_mib": peaks, "ratio_accel_over_accelerate": ratio,
              "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    lines = [
        "# The kohya-style example: accel package vs Hugging Face Accelerate (2 ranks, CPU)",
        "",
        f"Rerun: `bash bench/python_accel_vs_accelerate.sh` (this file and `{os.path.basename(args.out)}.json`).",
        f"Workload: examples/python/train_{{accel,accelerate}}.py (identical but for the import line), "
        f"{args.samples} samples, batch {args.batch_size} per rank, accumulation {args.accumulation}, "
        f"precision {args.precision}, AdamW, Gloo, 1 CPU thread per rank, {args.reps} runs each, interleaved; "
        "medians. Load average after the run: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f"; {os.cpu_count()} CPUs.",
        "",
        "| | accel | Accelerate | accel / Accelerate |",
        "|---|---|---|---|",
        f"| micro-batches/s (rank 0, training loop) | {med['accel']['micro_batches_per_s']:.1f} | "
        f"{med['accelerate']['micro_batches_per_s']:.1f} | {ratio['micro_batches_per_s']:.2f} |",
        f"| start-up: script start to first batch (s) | {med['accel']['startup_s']:.2f} | "
        f"{med['accelerate']['startup_s']:.2f} | {ratio['startup_s']:.2f} |",
        f"| peak RSS of the largest rank (MiB) | {peaks['accel']:.0f} | {peaks['accelerate']:.0f} | {ratio['peak_rss']:.2f} |",
        f"| whole run, launcher wall time (s) | {med['accel']['wall_s']:.2f} | {med['accelerate']['wall_s']:.2f} | "
        f"{med['accel']['wall_s'] / med['accelerate']['wall_s']:.2f} |",
        "",
        "Peak RSS is measured in a separate run per system (getrusage of a fresh launcher's children).",
    ]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def peak_of(system, work):
    """One more run of `system` in a fresh Python process: getrusage(RUSAGE_CHILDREN) there holds
    only that run's ranks."""
    code = ("import resource, subprocess, sys, json; subprocess.run(sys.argv[1:], check=True, "
            "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    cmd, env, _ = launch_command(system, "peak", work)
    out = subprocess.run([sys.executable, "-c", code, *cmd], env=env, stdout=subprocess.PIPE, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


if __name__ == "__main__":
    main()
