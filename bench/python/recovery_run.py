"""recovery.py for `accel run JOB.yaml`: kills one rank with SIGKILL and measures how long until
training advances again, when the restart is the operator's own gang restart.

    python3 recovery_run.py --out run.json --kill-at-step 13 --job-name NAME --log-dir DIR/logs -- \
        accel run job.yaml --dir DIR --output plain

`accel run` prints events, not the trainer's output: the ranks' output is in
<log-dir>/<job>-a<attempt>-n<node>.log, one file per pod and attempt. This script follows rank 0's
files (node 0, every attempt) every 20 ms. When rank 0 logs "step K" (K = --kill-at-step) the
trainer process whose initial environment has ACCEL_JOB_NAME=<job> and RANK=<--kill-rank> gets
SIGKILL (found through /proc/*/environ, so it need not be a descendant). Recovery time = from that
kill to the first "step N" line read afterwards (from the next attempt's file). The
reconciler restarts the whole gang (runPolicy.backoff.initialSeconds later) and the new gang
resumes from the newest complete checkpoint.

--stop-after N: once training resumed, let it log N more steps, then SIGTERM `accel run` (saves
time; the recovery is already measured). 0 runs to the end.
"""
import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

STEP = re.compile(r"^step (\d+) ")


def environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    except OSError:
        return {}


def find_rank(job, rank):
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        env = environ(d)
        if env.get(b"ACCEL_JOB_NAME") == job.encode() and env.get(b"RANK") == str(rank).encode():
            try:
                exe = os.path.basename(os.readlink(f"/proc/{d}/exe"))
            except OSError:
                continue
            if exe not in ("accel", "setsid", "bash", "sh"):
                return int(d), exe
    return None, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--kill-at-step", type=int, required=True)
    ap.add_argument("--kill-rank", type=int, default=1)
    ap.add_argument("--job-name", required=True)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--stop-after", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=400)
    ap.add_argument("--meta", default="{}")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

    t0 = time.time()
    load_before = os.getloadavg()[0]
    state = {"t_kill": None, "killed_pid": None, "t_resume": None, "resume_step": None}
    log = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    def read_runner():
        for line in proc.stdout:
            log.append(f"{time.time() - t0:8.3f} [accel run] {line.decode(errors='replace').rstrip()}")
    threading.Thread(target=read_runner, daemon=True).start()

    offsets, partial = {}, {}
    steps_after = 0
    stopped = False
    pattern = os.path.join(a.log_dir, f"{a.job_name}-a*-n0.log")
    while proc.poll() is None and time.time() - t0 < a.timeout:
        for path in sorted(glob.glob(pattern), key=lambda p: int(re.search(r"-a(\d+)-n0", p).group(1))):
            with open(path, "rb") as f:
                f.seek(offsets.get(path, 0))
                data = f.read()
            if not data:
                continue
            offsets[path] = offsets.get(path, 0) + len(data)
            text = partial.pop(path, "") + data.decode(errors="replace")
            lines = text.split("\n")
            if not text.endswith("\n"):
                partial[path] = lines.pop()
            now = time.time()
            for line in lines:
                if not line:
                    continue
                log.append(f"{now - t0:8.3f} [{os.path.basename(path)}] {line}")
                m = STEP.match(line)
                if not m:
                    continue
                step = int(m.group(1))
                if state["t_kill"] is None and step >= a.kill_at_step:
                    pid, exe = find_rank(a.job_name, a.kill_rank)
                    if pid is None:
                        log.append(f"{now - t0:8.3f} [recovery_run.py] no rank {a.kill_rank} process found")
                        continue
                    os.kill(pid, signal.SIGKILL)
                    state.update(t_kill=time.time(), killed_pid=pid, killed_exe=exe, killed_at_step=step)
                    log.append(f"{state['t_kill'] - t0:8.3f} [recovery_run.py] SIGKILL pid {pid} ({exe}, rank {a.kill_rank})")
                elif state["t_kill"] is not None and state["t_resume"] is None and now > state["t_kill"]:
                    state["t_resume"], state["resume_step"] = now, step
                    state["resume_file"] = os.path.basename(path)
                elif state["t_resume"] is not None:
                    steps_after += 1
        if a.stop_after and state["t_resume"] and steps_after >= a.stop_after and not stopped:
            os.killpg(proc.pid, signal.SIGTERM)
            stopped = True
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    rc = proc.returncode
    res = json.loads(a.meta)
    res.update({"load_before": load_before, "cmd": cmd, "rc": rc, "stopped_after_resume": stopped, "started_at": t0,
                "wall_s": time.time() - t0, "kill_at_step": a.kill_at_step, **state, "log": log[-400:]})
    if state["t_kill"] and state["t_resume"]:
        res["recovery_s"] = state["t_resume"] - state["t_kill"]
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"{os.path.basename(a.out)}: rc={rc} recovery={res.get('recovery_s', float('nan')):.2f}s "
          f"resumed at step {state['resume_step']} (killed at {state.get('killed_at_step')})",
          file=sys.stderr)
    ok = "recovery_s" in res and (rc == 0 or stopped)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
