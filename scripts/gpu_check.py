"""The prepared GPU check (scripts/gpu-check.sh runs it; docs/cuda.md explains it).

Runs the CUDA programs built on the CPU machine (build/gpu-bundle, scripts/gpu-bundle.sh) on a
machine with an NVIDIA GPU, against that machine's own torch install, and checks:
  1. the bundle loads: every library resolves, libtorch_cuda.so is the machine's;
  2. gpu.h's own test (gpu_build_test_cuda) passes with a driver present;
  3. a 1-GPU NCCL bf16 GPT training: the loss falls, the model computes in bf16 on cuda:0,
     /metrics shows non-zero GPU memory (and NVML utilisation);
  4. a checkpoint save + resume on the GPU gives bit-identical parameters;
  5. side by side, interleaved, on the same GPU: Accel vs PyTorch DDP in Python (the same model,
     batch, optimizer, torch): steps/s, tokens/s, time to first step, peak GPU memory, MFU
     against the GPU's bf16 peak.
Prints a summary, writes <out>/gpu-check.json, exits 1 when a check failed.

--rehearse runs the same flow on a CPU machine against a pip-installed torch (the bench venv),
with a tiny model and Gloo: it proves the bundle and the harness, not the GPU. Standard library
and torch only: the GPU machine has nothing else.
"""
import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MEASURE = os.path.join(ROOT, "bench", "python", "measure.py")
DDP_SCRIPT = os.path.join(ROOT, "bench", "python", "train_gpt_ddp.py")

# Dense bf16 tensor-core peaks (no sparsity), FLOP/s, from NVIDIA's data sheets.
BF16_PEAK = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12}

CHECKS = []


def check(name, ok, detail=""):
    CHECKS.append({"check": name, "ok": bool(ok), "detail": detail})
    print(f"  [{'ok' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def free_port_pair():
    """A port whose neighbour is free too (rank 1 of a 2-rank run serves port + 1)."""
    for _ in range(50):
        p = free_port()
        try:
            s = socket.socket()
            s.bind(("127.0.0.1", p + 1))
            s.close()
            return p
        except OSError:
            pass
    raise SystemExit("no free port pair")


def run(cmd, env, timeout=300):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


def metric(text, name):
    """Largest sample value of one metric in a /metrics text, or None."""
    vals = [float(m.group(1)) for m in re.finditer(
        r"^" + re.escape(name) + r"(?:\{[^}]*\})? ([0-9.eE+-]+)$", text or "", re.M)]
    return max(vals) if vals else None


def losses(log_lines):
    out = {}
    for line in log_lines:
        m = re.match(r"^step (\d+) loss ([0-9.eE+-]+)", line)
        if m:
            out[int(m.group(1))] = float(m.group(2))
    return out


def gpt_flops_per_token(dim, layers, seq, vocab=256):
    """Training FLOPs per token (forward + backward = 3 x forward): 6 x the matmul parameters
    plus the attention scores and their weighted sum (PaLM's appendix B formula)."""
    matmul_params = layers * 12 * dim * dim + dim * vocab
    return 6 * matmul_params + 12 * layers * dim * seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default=os.path.join(ROOT, "build", "gpu-bundle"))
    ap.add_argument("--out", default=os.environ.get("OUT") or os.path.join(ROOT, "build", "gpu-check"))
    ap.add_argument("--rehearse", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t_start = time.time()

    import torch  # the machine's torch: its libraries serve our binaries

    torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib")
    site = os.path.dirname(os.path.dirname(torch.__file__))
    cuda_ok = torch.cuda.is_available()
    facts = {"torch": torch.__version__, "cuda": torch.version.cuda,
             "nccl": ".".join(map(str, torch.cuda.nccl.version())) if cuda_ok else None,
             "gpus": torch.cuda.device_count() if cuda_ok else 0,
             "gpu": torch.cuda.get_device_name(0) if cuda_ok else None,
             "python": sys.version.split()[0], "torch_lib": torch_lib, "rehearse": a.rehearse}
    if shutil.which("nvidia-smi"):
        facts["nvidia_smi"] = run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                   "--format=csv,noheader"], os.environ)[1].strip()
    print("gpu-check:", json.dumps(facts), flush=True)
    if not a.rehearse and not cuda_ok:
        raise SystemExit("no CUDA device visible to this torch; use --rehearse on a CPU machine")

    # --- 1. the bundle against this machine's torch ---------------------------------------------
    print("1. bundle", flush=True)
    binp = lambda n: os.path.join(a.bundle, "bin", n)  # noqa: E731
    lib_path = [os.path.join(a.bundle, "lib"), torch_lib] + sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib")))
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ":".join(lib_path + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p])
    env["OMP_NUM_THREADS"] = env.get("OMP_NUM_THREADS", "4")
    _, ldd = run(["ldd", binp("accel-train-gpt")], env)
    if "version `GLIBCXX" in ldd or "version `CXXABI" in ldd:
        env["LD_LIBRARY_PATH"] = os.path.join(a.bundle, "lib", "compat") + ":" + env["LD_LIBRARY_PATH"]
        _, ldd = run(["ldd", binp("accel-train-gpt")], env)
        facts["compat_libstdcxx"] = True
    check("every library of the CUDA trainer resolves", "not found" not in ldd and "version `" not in ldd,
          "; ".join(l.strip() for l in ldd.splitlines() if "not found" in l or "version `" in l))
    tc = re.search(r"libtorch_cuda.so => (\S+)", ldd)
    check("libtorch_cuda.so is this machine's torch", tc and tc.group(1).startswith(torch_lib),
          tc.group(1) if tc else "not linked")
    rc, out = run([binp("accel"), "--version"], env)
    check("accel --version", rc == 0, out.strip())
    if not a.rehearse:
        rc, out = run([binp("gpu_build_test_cuda")], env, timeout=120)
        check("gpu_build_test_cuda with a driver", rc == 0, out.strip().splitlines()[-1] if out.strip() else "")

    # A corpus every machine has: the repository's own documentation.
    corpus = os.path.join(a.out, "corpus.txt")
    with open(corpus, "w") as f:
        for p in sorted(glob.glob(os.path.join(ROOT, "**", "*.md"), recursive=True)):
            if "/build/" not in p:
                f.write(open(p, errors="replace").read())

    if a.rehearse:
        nproc, backend, dev = 2, "gloo", "cpu"
        model = ["--dim", "64", "--layers", "2", "--heads", "4", "--seq-len", "32", "--batch-size", "8"]
        train_steps, bench_steps, warmup = 300, 40, 5
    else:
        nproc, backend, dev = 1, "nccl", "cuda:0"
        model = ["--dim", "512", "--layers", "8", "--heads", "8", "--seq-len", "256", "--batch-size", "32"]
        train_steps, bench_steps, warmup = 300, 150, 20

    def accel_cmd(project, steps, extra_launch=(), extra_train=(), port=None):
        cmd = [binp("accel"), "launch", "--num_processes", str(nproc), "--main_process_port", "0",
               "--backend", backend, "--mixed_precision", "bf16", "--project_dir", project,
               "--num_cpu_threads_per_process", "4" if not a.rehearse else "1"]
        if port:
            cmd += ["--metrics_port", str(port)]
        cmd += list(extra_launch) + ["--", binp("accel-train-gpt"), "--steps", str(steps),
                                     "--corpus", corpus, "--log-every", "1"] + model + list(extra_train)
        return cmd

    def measured(name, cmd, port=0, timeout=400, warm=warmup):
        res = os.path.join(a.out, name + ".json")
        m = [sys.executable, MEASURE, "--out", res, "--warmup", str(warm), "--timeout", str(timeout),
             "--scrape-every", "0.5", "--log-file", os.path.join(a.out, name + ".log")]
        if port:
            m += ["--metrics-port", str(port)]
        subprocess.run(m + ["--"] + cmd, env=env)
        with open(res) as f:
            r = json.load(f)
        with open(os.path.join(a.out, name + ".log"), errors="replace") as f:
            r["log"] = f.read().splitlines()
        return r

    # --- 3. training on the GPU ---------------------------------------------------------------
    print(f"2. {'2-rank Gloo (rehearsal)' if a.rehearse else '1-GPU NCCL'} bf16 GPT training", flush=True)
    port = free_port_pair()
    r = measured("train", accel_cmd(os.path.join(a.out, "train"), train_steps, port=port), port=port)
    log = r.get("log", [])
    text = "\n".join(log)
    ls = losses(log)
    check("training exits 0", r.get("rc") == 0, f"rc {r.get('rc')}")
    check(f"runs on {dev}", f"[accel] device {dev} (libaccel CUDA 13.0" in text,
          next((l for l in log if l.startswith("[accel] device")), "no device line"))
    check(f"backend {backend}", f"backend {backend}" in text)
    check(f"the model computes in bf16 on {dev}", f"compute dtype BFloat16 on {dev}" in text,
          next((l for l in log if "compute dtype" in l), "no dtype line"))
    if ls:
        first, last = ls[min(ls)], ls[max(ls)]
        check("the loss falls", last < 0.8 * first, f"step {min(ls)} {first:.4f} -> step {max(ls)} {last:.4f}")
    else:
        check("the loss falls", False, "no step lines")
    scrape = (r.get("metrics") or {}).get("0", "") or (r.get("metrics") or {}).get(0, "")
    alloc = metric(scrape, "accel_gpu_memory_allocated_bytes")
    peak = metric(scrape, "accel_gpu_memory_peak_allocated_bytes")
    util = metric(scrape, "accel_gpu_utilization_ratio")
    if a.rehearse:
        check("GPU memory is 0 on CPU", alloc == 0 and peak == 0, f"allocated {alloc}, peak {peak}")
        check("no utilisation series without NVML", util is None, f"{util}")
    else:
        check("/metrics shows GPU memory", (alloc or 0) > 0 and (peak or 0) > 0,
              f"allocated {alloc} B, peak {peak} B")
        check("/metrics shows NVML utilisation", util is not None, f"{util}")

    # --- 4. checkpoint save + resume ----------------------------------------------------------
    print("3. checkpoint save + resume", flush=True)
    ck = os.path.join(a.out, "ckpt")
    shutil.rmtree(ck, ignore_errors=True)
    n = 30
    p_a, p_b = os.path.join(a.out, "params_saved.bin"), os.path.join(a.out, "params_resumed.bin")
    rc1, out1 = run(accel_cmd(ck, n, ["--checkpoint_every_steps", str(n)], ["--save-params", p_a]), env, 400)
    rc2, out2 = run(accel_cmd(ck, n, [], ["--save-params", p_b]), env, 400)
    saved = os.path.isdir(os.path.join(ck, "checkpoints", f"checkpoint_{n:08d}"))
    check("checkpoint written", rc1 == 0 and saved, f"rc {rc1}")
    check("second run resumes from it", rc2 == 0 and f"resumed from" in out2 and f"(step {n}," in out2,
          next((l for l in out2.splitlines() if "resumed from" in l), out2[-300:]))
    same = os.path.exists(p_a) and os.path.exists(p_b) and open(p_a, "rb").read() == open(p_b, "rb").read()
    check("parameters after resume are bit-identical", same,
          f"{os.path.getsize(p_a) if os.path.exists(p_a) else 0} bytes")

    # --- 5. Accel vs PyTorch DDP, interleaved -------------------------------------------------
    print(f"4. Accel vs PyTorch DDP, {a.reps} interleaved repetitions", flush=True)
    dim, layers, seq, batch = (int(model[i + 1]) for i in (0, 2, 6, 8))
    tokens_per_step = batch * seq * nproc
    fpt = gpt_flops_per_token(dim, layers, seq)
    peak_flops = next((v for k, v in BF16_PEAK.items() if facts.get("gpu") and k in facts["gpu"]), None)
    runs = {"accel": [], "torch-ddp": []}
    for rep in range(a.reps):
        order = ["accel", "torch-ddp"] if rep % 2 == 0 else ["torch-ddp", "accel"]
        for system in order:
            if system == "accel":
                port = free_port_pair()
                cmd = accel_cmd(os.path.join(a.out, f"bench-accel-{rep}"), bench_steps, port=port)
                res = measured(f"bench-accel-{rep}", cmd, port=port)
                scrape = (res.get("metrics") or {}).get("0", "")
                res["peak_gpu_mib"] = (metric(scrape, "accel_gpu_memory_peak_allocated_bytes") or 0) / 2**20
            else:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--nproc_per_node", str(nproc), DDP_SCRIPT, "--steps", str(bench_steps),
                       "--corpus", corpus, "--log-every", "1", "--bf16", "1",
                       "--device", "cpu" if a.rehearse else "cuda", "--warmup-steps", str(warmup)] + model
                res = measured(f"bench-ddp-{rep}", cmd)
                res["peak_gpu_mib"] = (res.get("self_report") or {}).get("peak_gpu_mib", 0)
            sps = res.get("steps_per_s")
            res["tokens_per_s"] = sps * tokens_per_step if sps else None
            res["mfu"] = res["tokens_per_s"] * fpt / peak_flops if sps and peak_flops else None
            runs[system].append({k: res.get(k) for k in
                                 ("rc", "steps_per_s", "tokens_per_s", "first_step_s", "peak_gpu_mib",
                                  "mfu", "rank_peak_rss_mib")})
            print(f"    {system:9s} rep {rep}: {json.dumps(runs[system][-1])}", flush=True)

    def median(system, key):
        vals = sorted(v[key] for v in runs[system] if v.get(key) is not None)
        return vals[len(vals) // 2] if vals else None

    summary = {}
    for key in ("steps_per_s", "tokens_per_s", "first_step_s", "peak_gpu_mib", "mfu"):
        acc, ddp = median("accel", key), median("torch-ddp", key)
        summary[key] = {"accel": acc, "torch-ddp": ddp, "ratio": acc / ddp if acc and ddp else None}
    check("every benchmark run exits 0", all(v["rc"] == 0 for vs in runs.values() for v in vs))

    print("\nsummary (medians; ratio = Accel / PyTorch DDP)")
    for key, v in summary.items():
        f = lambda x: "-" if x is None else (f"{x:.4g}")  # noqa: E731
        print(f"  {key:14s} accel {f(v['accel']):>10s}   torch-ddp {f(v['torch-ddp']):>10s}   ratio {f(v['ratio'])}")
    result = {"facts": facts, "checks": CHECKS, "workload": {
        "model": model, "processes": nproc, "backend": backend, "precision": "bf16",
        "steps": bench_steps, "warmup": warmup, "tokens_per_step": tokens_per_step,
        "flops_per_token": fpt, "bf16_peak_flops": peak_flops}, "runs": runs, "summary": summary,
        "wall_s": time.time() - t_start}
    with open(os.path.join(a.out, "gpu-check.json"), "w") as f:
        json.dump(result, f, indent=1)
    failed = [c["check"] for c in CHECKS if not c["ok"]]
    print(f"\ngpu-check: {len(CHECKS) - len(failed)}/{len(CHECKS)} checks passed in {time.time() - t_start:.0f} s"
          + (f"; FAILED: {failed}" if failed else ""), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
