"""Turns the raw per-run JSON of bench/worker_vs_python.sh into
bench/results/worker_vs_python.md, worker_vs_python.json and PNG plots.

Ratios are paired: repetition r of Accel is divided by repetition r of the other system (they
ran back to back), and the median over repetitions is reported, with the range.
"""
import argparse
import glob
import json
import os
import re
import statistics
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SYSTEMS = ["accel", "torch-ddp", "accelerate", "bare"]
LABEL = {"accel": "Accel (C++)", "torch-ddp": "PyTorch DDP (torchrun)",
         "accelerate": "HF Accelerate", "bare": "bare LibTorch loop (the limit)"}
COLOR = {"accel": "#1f77b4", "torch-ddp": "#ff7f0e", "accelerate": "#2ca02c", "bare": "#7f7f7f"}
# Accel's steps/s as a fraction of the bare loop's (same ranks), and of PyTorch DDP's at 1 rank:
# (ranks, against, goal).
# The goals are set on small-fp32, the workload where the framework's own cost shows most; the
# other workloads are reported against the limit without one.
LIMIT_GOALS = [(1, "bare", 0.98), (1, "torch-ddp", 1.05), (2, "bare", 0.95)]
LIMIT_GOAL_MODEL = "small-fp32"
WORKLOADS = ["small", "small-fp32", "heavy"]
GOAL_STEPS = {"small": 1.25, "small-fp32": 1.25, "heavy": 1.0}
MODEL_DESC = {}


def describe(r):
    args = r.get("model_args", "").split()
    kv = dict(zip(args[::2], args[1::2]))
    prec = "bf16 autocast" if r.get("precision") == "bf16" else "float32"
    return (f"{r['model']}: dim {kv.get('--dim')}, {kv.get('--layers')} layers, "
            f"seq {kv.get('--seq-len')}, batch {kv.get('--batch-size')}, {prec}")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_range(xs, nd=2):
    if not xs:
        return "n/a"
    return f"{med(xs):.{nd}f} ({min(xs):.{nd}f}–{max(xs):.{nd}f})"


def load(raw):
    runs = []
    for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
        with open(path) as f:
            r = json.load(f)
        r["rank_rss_max"] = max(r["rank_peak_rss_mib"]) if r.get("rank_peak_rss_mib") else None
        # Start-up without the first step's own compute (one steady-state step time), which
        # is the same work in every system and dominates on the heavy model.
        if r.get("first_step_s") and r.get("steps_per_s"):
            r["startup_overhead_s"] = max(0.0, r["first_step_s"] - 1.0 / r["steps_per_s"])
        runs.append(r)
    return runs


def metric_sum_count(text, name):
    s = c = 0.0
    for line in text.splitlines():
        if line.startswith(name + "_sum"):
            s += float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            c += float(line.rsplit(" ", 1)[1])
    return s, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--accum", type=int, default=2)
    ap.add_argument("--notes", default="", help="a markdown file appended as 'Where the time goes'")
    a = ap.parse_args()
    machine = open(a.machine).read().rstrip()
    runs = load(a.raw)
    timed = [r for r in runs if str(r["rep"]).isdigit()]
    profile = [r for r in timed if r["system"] == "accel" and r.get("metrics")]

    # (system, model, nproc) -> rep -> run
    by = defaultdict(dict)
    for r in timed:
        by[(r["system"], r["model"], r["nproc"])][int(r["rep"])] = r
        MODEL_DESC.setdefault(r["model"], describe(r))

    def series(system, model, nproc, key):
        return [v[key] for _, v in sorted(by[(system, model, nproc)].items())
                if v.get(key) is not None]

    def paired(key, model, num, den, nproc=2, invert=False):
        A, B = by[(num, model, nproc)], by[(den, model, nproc)]
        out = []
        for rep in sorted(set(A) & set(B)):
            x, y = A[rep].get(key), B[rep].get(key)
            if x and y:
                out.append(y / x if invert else x / y)
        return out

    def samples_per_s(r):
        return r["steps_per_s"] * r["batch"] * r["accum"] * r["nproc"]

    models = [m for m in WORKLOADS if any(k[1] == m for k in by)]
    one_rank = {k[1] for k in by if k[2] == 1}
    scale_model = "small-fp32" if "small-fp32" in one_rank else next(iter(sorted(one_rank)), None)
    summary = {"systems": {}, "ratios": {}, "scaling": {}}
    for (system, model, nproc), reps in sorted(by.items()):
        summary["systems"][f"{system}/{model}/np{nproc}"] = {
            "steps_per_s": [reps[k].get("steps_per_s") for k in sorted(reps)],
            "first_step_s": [reps[k].get("first_step_s") for k in sorted(reps)],
            "rank_peak_rss_mib": [reps[k].get("rank_rss_max") for k in sorted(reps)],
            "total_peak_rss_mib": [reps[k].get("total_peak_rss_mib") for k in sorted(reps)],
        }

    # ---- ratios against the goals ---------------------------------------------------------
    goals = []  # (what, model, other, values, goal, higher_is_better)
    for model in models:
        goal = GOAL_STEPS.get(model, 1.0)
        for other in ("torch-ddp", "accelerate"):
            goals.append(("steps/s", model, other, paired("steps_per_s", model, "accel", other),
                          goal, True))
    for model in models:
        for other in ("torch-ddp", "accelerate"):
            goals.append(("start-up time", model, other,
                          paired("first_step_s", model, "accel", other), 0.2, False))
            goals.append(("start-up time less one step", model, other,
                          paired("startup_overhead_s", model, "accel", other), None, False))
    for model in models:
        for other in ("torch-ddp", "accelerate"):
            goals.append(("peak RSS per rank", model, other,
                          paired("rank_rss_max", model, "accel", other), 0.5, False))
            goals.append(("peak RSS, all processes", model, other,
                          paired("total_peak_rss_mib", model, "accel", other), None, False))
    scaling_rows = []
    for system in ("accel", "torch-ddp"):
        if scale_model is None:
            break
        one, two = by[(system, scale_model, 1)], by[(system, scale_model, 2)]
        ratios = [samples_per_s(two[k]) / samples_per_s(one[k])
                  for k in sorted(set(one) & set(two))
                  if one[k].get("steps_per_s") and two[k].get("steps_per_s")]
        if ratios:
            scaling_rows.append((system, ratios,
                                 [samples_per_s(one[k]) for k in sorted(one) if one[k].get("steps_per_s")],
                                 [samples_per_s(two[k]) for k in sorted(two) if two[k].get("steps_per_s")]))
            summary["scaling"][system] = {"ratio_2_over_1": ratios, "efficiency": [x / 2 for x in ratios]}
    for what, model, other, vals, goal, higher in goals:
        summary["ratios"][f"{what}/{model}/accel_over_{other}"] = vals

    # ---- against the limit: every system's steps/s over the bare loop's, paired per rep -------
    limit_rows = []  # (model, nproc, {system: ratios})
    for model in models:
        for nproc in (1, 2):
            if not by.get(("bare", model, nproc)):
                continue
            fr = {s: paired("steps_per_s", model, s, "bare", nproc) for s in SYSTEMS if s != "bare"}
            limit_rows.append((model, nproc, fr))
            for s, v in fr.items():
                summary["ratios"][f"steps/s/{model}/np{nproc}/{s}_over_bare"] = v
    limit_goals = []  # (model, nproc, against, ratios, goal)
    for model, nproc, _ in limit_rows:
        if model != LIMIT_GOAL_MODEL:
            continue
        for n, against, goal in LIMIT_GOALS:
            if n == nproc:
                limit_goals.append((model, nproc, against,
                                    paired("steps_per_s", model, "accel", against, nproc), goal))

    # ---- plots ------------------------------------------------------------------------------
    os.makedirs(a.out, exist_ok=True)
    pngs = []

    def bars(ax, model, key, nproc=2, scale=1.0):
        xs, ys, lo, hi = [], [], [], []
        for i, s in enumerate(SYSTEMS):
            v = [x * scale for x in series(s, model, nproc, key)]
            if not v:
                continue
            xs.append(i)
            ys.append(med(v))
            lo.append(med(v) - min(v))
            hi.append(max(v) - med(v))
        ax.bar(xs, ys, yerr=[lo, hi], capsize=4, color=[COLOR[SYSTEMS[i]] for i in xs])
        ax.set_xticks(xs)
        ax.set_xticklabels([LABEL[SYSTEMS[i]].replace(" (", "\n(") for i in xs], fontsize=8)
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.3g}", (x, y), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 3), textcoords="offset points")

    for key, title, fname, unit in (
            ("steps_per_s", "Training throughput (2 ranks)", "throughput.png", "optimizer steps/s"),
            ("first_step_s", "Start-up: launch to first completed step (2 ranks)", "startup.png", "seconds"),
            ("rank_rss_max", "Peak RSS of one rank (2 ranks)", "memory_rank.png", "MiB"),
            ("total_peak_rss_mib", "Peak RSS, all processes incl. launcher (2 ranks)",
             "memory_total.png", "MiB")):
        fig, axes = plt.subplots(1, len(models), figsize=(4.5 * len(models), 4.2), squeeze=False)
        for ax, model in zip(axes[0], models):
            bars(ax, model, key)
            ax.set_title(MODEL_DESC[model].replace(", batch", ",\nbatch"), fontsize=8)
            ax.set_ylabel(unit + " (median, min–max)")
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, fname), dpi=110)
        plt.close(fig)
        pngs.append((fname, title))

    if scaling_rows:
        fig, ax = plt.subplots(figsize=(6, 4))
        width = 0.35
        for i, (system, ratios, one, two) in enumerate(scaling_rows):
            ax.bar([i - width / 2], [med(one)], width, color=COLOR[system], alpha=0.5,
                   label=f"{LABEL[system]}: 1 rank")
            ax.bar([i + width / 2], [med(two)], width, color=COLOR[system],
                   label=f"{LABEL[system]}: 2 ranks")
            ax.plot([i + width / 2 - width / 2, i + width / 2 + width / 2], [2 * med(one)] * 2,
                    "k--", lw=1)
            ax.annotate(f"{med(ratios):.2f}x", (i + width / 2, med(two)), ha="center",
                        va="bottom", fontsize=9, xytext=(0, 3), textcoords="offset points")
        ax.set_xticks(range(len(scaling_rows)))
        ax.set_xticklabels([LABEL[r[0]] for r in scaling_rows], fontsize=8)
        ax.set_ylabel("samples/s (median); dashed: ideal 2x")
        ax.set_title(f"Scaling, {scale_model}: 1 rank vs 2 ranks (1 thread each)", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "scaling.png"), dpi=110)
        plt.close(fig)
        pngs.append(("scaling.png", "Scaling"))

    fig, ax = plt.subplots(figsize=(8, 0.45 * len(goals) + 1.5))
    labels, vals, colors, goal_marks = [], [], [], []
    for what, model, other, v, goal, higher in goals:
        if not v:
            continue
        labels.append(f"{what}, {model}: Accel / {LABEL[other].split(' (')[0]}")
        vals.append(med(v))
        ok = goal is None or (med(v) >= goal if higher else med(v) <= goal)
        colors.append("#4c9a2a" if ok else "#c0392b")
        goal_marks.append(goal)
    y = list(range(len(labels)))[::-1]
    ax.barh(y, vals, color=colors)
    for yy, g, v in zip(y, goal_marks, vals):
        if g is not None:
            ax.plot([g, g], [yy - 0.4, yy + 0.4], "k-", lw=2)
        ax.annotate(f"{v:.2f}", (v, yy), va="center", fontsize=8, xytext=(3, 0),
                    textcoords="offset points")
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("Accel / other, median of paired runs\nblack tick: goal; green: goal met")
    ax.set_title("Accel vs Python: ratios against the goals")
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "ratios.png"), dpi=110)
    plt.close(fig)
    pngs.insert(0, ("ratios.png", "Ratios against the goals"))

    # ---- markdown ---------------------------------------------------------------------------
    L = []
    L.append("# Accel's worker vs PyTorch DDP, Hugging Face Accelerate and the bare LibTorch loop")
    L.append("")
    L.append("Generated by `bench/worker_vs_python.sh` (one run, systems interleaved A B C D A B C D …). "
             "Same model, data sampling, batch, AdamW (wd 0.01) + StepLR(100, 0.5), clip 1.0, "
             f"precision and gradient accumulation {a.accum} in all four; gloo; "
             "every rank has one CPU thread. **2 ranks on a 2-core machine** is all we have: "
             "both ranks compute and communicate on the same two cores that also run the "
             "launcher, so these numbers say how much each stack spends around the same "
             "LibTorch kernels, not how they scale across real nodes.")
    L.append("")
    L.append("Workloads (batch 8 sequences per rank per micro-batch):")
    L.append("")
    for m in models:
        any_run = next(r for r in timed if r["model"] == m)
        L.append(f"- {MODEL_DESC[m]}; {any_run['steps']} optimizer steps per run, the first "
                 f"{any_run['warmup']} of them warm-up")
    L.append("")
    if re.search(r"\b(avx512_bf16|amx_bf16)\b", machine):
        L.append("This CPU has bf16 matmul instructions (AVX512-BF16 or AMX in `lscpu`), so the "
                 "bf16 workload runs at float32's speed or better. The float32 workloads are the "
                 "ones to compare with machines without them.")
    else:
        L.append("Why float32 workloads besides bf16: this CPU has no AVX512-BF16/AMX, and "
                 "LibTorch's bf16 matmul runs far slower than float32 on such CPUs (0.6 vs 25 "
                 "GFLOP/s on one thread, 1024×384×1536, on an AVX2 EPYC). A bf16 step is then "
                 "almost all matmul whatever the framework.")
    L.append("")
    L.append("How each number is measured (the same for all four; see `bench/python/measure.py`):")
    L.append("")
    L.append("- **steps/s**: rank 0 prints `step N loss L` after every optimizer step "
             "(`--log-every 1`); steps/s = (N_last − W) / (t(N_last) − t(W)), with t read from "
             "the launcher's stdout and the first W steps (per workload, above) left out as "
             "warm-up.")
    L.append("- **start-up**: wall time from launching the launcher to reading `step 1`: process "
             "start, imports / library loading, rendezvous, model set-up and the first step. "
             "*Less one step* subtracts one steady-state step time (1 / steps/s): the first "
             "step's compute is the same work in every system and dominates on the heavy model.")
    L.append("- **peak RSS**: VmHWM (the kernel's high-water mark, what getrusage's ru_maxrss "
             "reports) of the launcher and every process below it, sampled every 0.2 s. *Per "
             "rank* is the larger of the ranks; *all processes* adds the launcher(s) "
             "(`accel launch`; torchrun's agent; `accelerate launch`, which runs torchrun's "
             "agent in-process).")
    L.append("- **ratios** are paired per repetition (Accel's run r over the other's run r, "
             "which ran minutes apart) and the median is shown with the range.")
    L.append("")
    L.append("## Ratios against the goals")
    L.append("")
    L.append("| measure | model | Accel / PyTorch DDP | Accel / Accelerate | goal | met |")
    L.append("|---|---|---|---|---|---|")
    rows = defaultdict(dict)
    for what, model, other, v, goal, higher in goals:
        rows[(what, model)][other] = (v, goal, higher)
    for (what, model), d in rows.items():
        goal = next(iter(d.values()))[1]
        higher = next(iter(d.values()))[2]
        cells = []
        met = []
        for other in ("torch-ddp", "accelerate"):
            v = d.get(other, ([], None, True))[0]
            cells.append(fmt_range(v) + "×" if v else "n/a")
            if goal is not None and v:
                met.append(med(v) >= goal if higher else med(v) <= goal)
        goal_s = "—" if goal is None else (f"≥ {goal}×" if higher else f"≤ {goal}×")
        met_s = "—" if goal is None else ("yes" if met and all(met) else
                                          ("partly" if any(met) else "**no**"))
        L.append(f"| {what} | {model} | {cells[0]} | {cells[1]} | {goal_s} | {met_s} |")
    for system, ratios, one, two in scaling_rows:
        eff = [x / 2 for x in ratios]
        goal_s = "≥ 0.95" if system == "accel" else "(reference)"
        met_s = ("yes" if med(eff) >= 0.95 else "**no**") if system == "accel" else "—"
        L.append(f"| scaling efficiency (samples/s 2 ranks / (2 × 1 rank)) | {scale_model} | "
                 f"{LABEL[system]}: {fmt_range(eff)} | | {goal_s} | {met_s} |")
    L.append("")
    if limit_rows:
        L.append("## Against the limit: steps/s as a fraction of the bare LibTorch loop's")
        L.append("")
        L.append("The bare loop (`bench/bare/train_gpt_bare.cpp`) is the same training with no "
                 "libaccel: no DDP wrapper, trackers, metrics or watchdog; with 2 ranks one c10d "
                 "Gloo all-reduce of the flattened gradients per optimizer step. It prints the "
                 "same losses as accel-train-gpt to the last digit "
                 "(`tests/integration/worker/bare_loop_test.cpp`). Paired per repetition; "
                 "median (range).")
        L.append("")
        L.append("| model | ranks | " + " | ".join(LABEL[s] for s in SYSTEMS if s != "bare") + " |")
        L.append("|---|---|" + "---|" * (len(SYSTEMS) - 1))
        for model, nproc, fr in limit_rows:
            L.append(f"| {model} | {nproc} | " + " | ".join(
                (fmt_range(fr[s]) + "×") if fr[s] else "n/a" for s in SYSTEMS if s != "bare") + " |")
        L.append("")
        L.append("| goal | model | Accel's ratio | goal | met |")
        L.append("|---|---|---|---|---|")
        for model, nproc, against, v, goal in limit_goals:
            met = "n/a" if not v else ("yes" if med(v) >= goal else "**no**")
            L.append(f"| Accel / {LABEL[against]}, {nproc} rank{'s' if nproc > 1 else ''} | {model} | "
                     f"{fmt_range(v, 3) + '×' if v else 'n/a'} | ≥ {goal}× | {met} |")
        L.append("")
    L.append("## Absolute numbers (median, min–max over repetitions)")
    L.append("")
    L.append("| system | model | ranks | steps/s | samples/s | start-up s | peak RSS/rank MiB | peak RSS all MiB |")
    L.append("|---|---|---|---|---|---|---|---|")
    for model in models:
        for nproc in (2, 1):
            for s in SYSTEMS:
                if not by.get((s, model, nproc)):
                    continue
                sps = series(s, model, nproc, "steps_per_s")
                samp = [samples_per_s(r) for _, r in sorted(by[(s, model, nproc)].items())
                        if r.get("steps_per_s")]
                L.append(f"| {LABEL[s]} | {model} | {nproc} | {fmt_range(sps, 3)} | "
                         f"{fmt_range(samp, 1)} | {fmt_range(series(s, model, nproc, 'first_step_s'))} | "
                         f"{fmt_range(series(s, model, nproc, 'rank_rss_max'), 0)} | "
                         f"{fmt_range(series(s, model, nproc, 'total_peak_rss_mib'), 0)} |")
    L.append("")
    L.append("Samples/s = steps/s × batch 8 × accumulation "
             f"{a.accum} × ranks. Each Python trainer also prints its own view "
             "(`bench-summary`: ru_maxrss of rank 0, steps/s and start-up from /proc's process "
             "start time); those agree with the outside view and are kept in the raw JSON.")
    L.append("")
    if profile:
        L.append("## Accel's time breakdown (from its /metrics)")
        L.append("")
        L.append("Every Accel run serves /metrics; the harness scrapes it every 2 s and keeps the "
                 "last scrape (a few steps before the end). Medians over repetitions, per rank. "
                 "*step* is one optimizer step (both micro-batches: data, forward, backward, "
                 "all-reduce, clip, AdamW); *all-reduce* is bucket launch → completion, summed "
                 "per step, and overlaps backward; *between micro-batches* is the time outside "
                 "accumulate() scopes (here: the loss all-reduce for the log line and printing).")
        L.append("")
        L.append("| workload | ranks | rank | steps seen | step s | all-reduce s/step (buckets/step) | between micro-batches s |")
        L.append("|---|---|---|---|---|---|---|")
        agg = defaultdict(lambda: defaultdict(list))
        for r in profile:
            for rank, text in r["metrics"].items():
                ss, sc = metric_sum_count(text, "accel_train_step_duration_seconds")
                asum, acnt = metric_sum_count(text, "accel_train_allreduce_duration_seconds")
                dsum, dcnt = metric_sum_count(text, "accel_train_data_wait_seconds")
                if not sc:
                    continue
                d = agg[(r["model"], r["nproc"], rank)]
                d["n"].append(sc)
                d["step"].append(ss / sc)
                d["ar"].append(asum / sc)
                d["arn"].append(acnt / sc)
                d["dw"].append(dsum / dcnt if dcnt else float("nan"))
        order = {m: i for i, m in enumerate(WORKLOADS)}
        for (model, nproc, rank), d in sorted(agg.items(), key=lambda kv: (order.get(kv[0][0], 9), -kv[0][1], kv[0][2])):
            L.append(f"| {model} | {nproc} | {rank} | {med(d['n']):.0f} | {med(d['step']):.4f} | "
                     f"{med(d['ar']):.4f} ({med(d['arn']):.1f}) | {med(d['dw']):.4f} |")
        L.append("")
    if os.path.exists(os.path.join(a.out, "worker_vs_python_analysis.md")):
        L.append("Where the time goes, and why some goals are not met on this machine: "
                 "[worker_vs_python_analysis.md](worker_vs_python_analysis.md) (written by hand "
                 "from a run of this benchmark plus CPU-time and perf measurements).")
        L.append("")
    if a.notes and os.path.exists(a.notes):
        L.append(open(a.notes).read().rstrip())
        L.append("")
    L.append("## Plots")
    L.append("")
    for fname, title in pngs:
        L.append(f"![{title}]({fname})")
        L.append("")
    L.append("## Machine")
    L.append("")
    L.append("```")
    L.append(machine)
    L.append("```")
    L.append("")
    L.append("## Runs")
    L.append("")
    L.append("In the order they ran.")
    L.append("")
    L.append("| run | rc | steps/s | start-up s | rank RSS MiB | load avg before |")
    L.append("|---|---|---|---|---|---|")
    for r in sorted(runs, key=lambda r: r.get("started_at", 0)):
        L.append(f"| {r['system']} {r['model']} np{r['nproc']} rep {r['rep']} | {r['rc']} | "
                 f"{r.get('steps_per_s', float('nan')):.3f} | {r.get('first_step_s', float('nan')):.2f} | "
                 f"{', '.join(f'{x:.0f}' for x in r.get('rank_peak_rss_mib', []))} | "
                 f"{r.get('loadavg_before', '')} |")
    L.append("")
    with open(os.path.join(a.out, "worker_vs_python.md"), "w") as f:
        f.write("\n".join(L))
    with open(os.path.join(a.out, "worker_vs_python.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("\n".join(L[:40]))


if __name__ == "__main__":
    main()
