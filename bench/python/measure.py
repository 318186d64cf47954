"""Runs one training command and measures it from the outside, the same way for every system.

    python3 measure.py --out run.json [--warmup 5] [--metrics-port P] [--meta JSON] -- CMD...

What it records (the one method used for Accel, torchrun DDP and accelerate launch alike):
  * start-up: wall time from just before the launcher is started to the moment the first
    "step N ..." line (printed by rank 0 after optimizer step N, flushed) is read from the
    launcher's stdout. The trainers run with --log-every 1, so "step 1" is the first step.
  * steps/s: (N_last - N_warm) / (t_last - t_warm), where t_k is when "step k" was read and
    N_warm is the --warmup step: the first steps (allocator warm-up, DDP bucket rebuild) are
    left out.
  * peak RSS: the launcher and every process below it are found by scanning /proc (once a
    second) and its VmHWM (the kernel's resident-set high-water mark,
    the value getrusage's ru_maxrss reports) is read every 0.2 s while it lives. VmHWM only
    grows, so the last reading is the peak up to at most 0.2 s before the process ended.
    Processes whose initial environment has RANK (set by each launcher for its ranks, and by
    none of them for itself) are ranks; the others are launchers.
  * with --metrics-port, the /metrics text of ports P and P+1 (Accel's ranks 0 and 1) is
    scraped every 2 s (--scrape-every) and the last scrape is kept, for the time breakdown.
Everything the command prints is kept in the JSON ("log", last 200 lines).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

STEP = re.compile(rb"^step (\d+) ")


def descendants(root):
    """root and every process below it (by parent pid). Not a session: torchrun starts its
    workers in sessions of their own."""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            parent[int(name)] = int(fields[1])  # field 4 of stat(5): parent pid
        except (OSError, IndexError, ValueError):
            pass
    found, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, pp in parent.items():
            if pp == p and child not in found:
                found.add(child)
                frontier.append(child)
    return sorted(found)


def read_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def is_rank(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return any(v.startswith(b"RANK=") for v in f.read().split(b"\0"))
    except OSError:
        return False


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--metrics-port", type=int, default=0)
    ap.add_argument("--scrape-every", type=float, default=2.0, help="seconds between /metrics scrapes")
    ap.add_argument("--meta", default="{}", help="JSON merged into the result")
    ap.add_argument("--log-file", default="", help="also write every line the command prints here")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    steps = {}  # step -> seconds since t0
    log = []
    procs = {}  # pid -> {"cmd":..., "hwm_kib":...}
    scrapes = {}
    done = threading.Event()

    full_log = open(a.log_file, "wb") if a.log_file else None

    def reader():
        for line in proc.stdout:
            if full_log:
                full_log.write(line)
                full_log.flush()
            now = time.time() - t0
            m = STEP.match(line)
            if m:
                steps.setdefault(int(m.group(1)), now)
            log.append(line.decode(errors="replace").rstrip("\n"))
            if len(log) > 400:
                del log[:200]

    def poller():
        last_scan = 0.0
        last_scrape = 0.0
        while not done.is_set():
            now = time.time()
            if now - last_scan >= 1.0:
                for pid in descendants(proc.pid):
                    # Re-read each time: a process seen between fork and exec still shows
                    # its parent's command line and environment.
                    c = cmdline(pid)
                    p = procs.setdefault(pid, {"cmd": c, "rank": False, "hwm_kib": 0})
                    if c and c != p["cmd"]:  # exec'd since: the old high-water mark is not its
                        p["cmd"], p["hwm_kib"] = c, 0
                    if c:
                        p["rank"] = is_rank(pid)
                last_scan = now
            for pid, p in procs.items():
                h = read_hwm_kib(pid)
                if h is not None:
                    p["hwm_kib"] = max(p["hwm_kib"], h)
            if a.metrics_port and now - last_scrape >= a.scrape_every:
                for r in (0, 1):
                    try:
                        url = f"http://127.0.0.1:{a.metrics_port + r}/metrics"
                        scrapes[r] = urllib.request.urlopen(url, timeout=1).read().decode()
                    except OSError:
                        pass
                last_scrape = now
            done.wait(0.2)

    rt = threading.Thread(target=reader, daemon=True)
    pt = threading.Thread(target=poller, daemon=True)
    rt.start()
    pt.start()
    try:
        rc = proc.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        for pid in descendants(proc.pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        rc = "timeout"
        proc.wait()
    wall = time.time() - t0
    done.set()
    pt.join()
    rt.join(timeout=5)
    if full_log:
        full_log.close()

    # A `setsid -w` wrapper (bench/worker_vs_python.sh) carries RANK but does no work: count
    # it with the launchers.
    ranks = {pid: p for pid, p in procs.items() if p["rank"] and not p["cmd"].startswith("setsid")}
    launchers = {pid: p for pid, p in procs.items() if pid not in ranks}
    res = json.loads(a.meta)
    res.update({"cmd": cmd, "rc": rc, "started_at": t0, "wall_s": wall, "warmup": a.warmup})
    if steps:
        first = min(steps)
        last = max(steps)
        res["first_step_s"] = steps[first]
        res["first_step"] = first
        res["last_step"] = last
        if a.warmup in steps and last > a.warmup:
            res["steps_per_s"] = (last - a.warmup) / (steps[last] - steps[a.warmup])
        res["step_times_s"] = [steps[k] for k in sorted(steps)]
    res["rank_peak_rss_mib"] = sorted(p["hwm_kib"] / 1024 for p in ranks.values())
    res["launcher_peak_rss_mib"] = sorted(p["hwm_kib"] / 1024 for p in launchers.values())
    res["processes"] = [{"pid": pid, **p} for pid, p in sorted(procs.items())]
    res["total_peak_rss_mib"] = sum(p["hwm_kib"] for p in procs.values()) / 1024
    for line in log:
        if line.startswith("bench-summary "):
            res["self_report"] = json.loads(line[len("bench-summary "):])
    res["metrics"] = scrapes
    res["log"] = log[-200:]
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    ok = rc == 0 and "steps_per_s" in res
    print(f"{os.path.basename(a.out)}: rc={rc} steps/s={res.get('steps_per_s', float('nan')):.3f} "
          f"first_step={res.get('first_step_s', float('nan')):.2f}s "
          f"rank_rss={res['rank_peak_rss_mib']} MiB", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
