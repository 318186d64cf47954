"""Kills one rank with SIGKILL mid-training and measures how long until training advances again.

    python3 recovery.py --out run.json --kill-at-step 13 [--supervise N] -- CMD...

The command is started, its stdout read line by line. When rank 0 prints "step K" (K =
--kill-at-step) the process below the command whose initial environment has RANK=<--kill-rank>
(not a `setsid` wrapper) gets SIGKILL. Recovery time = from that kill to the first "step N" line
read afterwards (N > the checkpoint it resumed from, whatever N is). Also recorded: which step
training resumed at (first step line after the kill) and so how many steps were redone.

--supervise N plays the part of a restarting supervisor (a Kubernetes pod restart with no
back-off): when the command exits non-zero, it is started again, up to N times. torchrun needs
none (its --max-restarts restarts the workers itself).

--stop-after N: once training resumed, let rank 0 print N more step lines, then SIGTERM the
command's process group (the recovery is measured by then; saves minutes on a slow machine).
0 (the default) runs the command to its end.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import cmdline, descendants  # noqa: E402

STEP = re.compile(rb"^step (\d+) ")


def rank_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for v in f.read().split(b"\0"):
                if v.startswith(b"RANK="):
                    return int(v[5:])
    except (OSError, ValueError):
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--kill-at-step", type=int, required=True)
    ap.add_argument("--kill-rank", type=int, default=1)
    ap.add_argument("--supervise", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--stop-after", type=int, default=0)
    ap.add_argument("--meta", default="{}")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

    t0 = time.time()
    load_before = os.getloadavg()[0]
    state = {"t_kill": None, "killed_pid": None, "t_resume": None, "resume_step": None,
             "restarts": 0, "rcs": [], "steps_after_resume": 0, "stopped_after_resume": False}
    log = []
    lock = threading.Lock()

    def on_line(proc, line):
        now = time.time()
        log.append(f"{now - t0:8.3f} {line.decode(errors='replace').rstrip()}")
        m = STEP.match(line)
        if not m:
            return
        step = int(m.group(1))
        with lock:
            if state["t_kill"] is None and step >= a.kill_at_step:
                for pid in descendants(proc.pid):
                    if rank_of(pid) == a.kill_rank and not cmdline(pid).startswith("setsid"):
                        os.kill(pid, signal.SIGKILL)
                        state["t_kill"] = time.time()
                        state["killed_pid"] = pid
                        state["killed_at_step"] = step
                        log.append(f"{state['t_kill'] - t0:8.3f} [recovery.py] SIGKILL pid {pid} "
                                   f"(rank {a.kill_rank})")
                        break
            elif state["t_kill"] is not None and state["t_resume"] is None and now > state["t_kill"]:
                state["t_resume"] = now
                state["resume_step"] = step
            elif state["t_resume"] is not None:
                state["steps_after_resume"] += 1
                if a.stop_after and state["steps_after_resume"] >= a.stop_after \
                        and not state["stopped_after_resume"]:
                    state["stopped_after_resume"] = True
                    log.append(f"{now - t0:8.3f} [recovery.py] resumed; SIGTERM to the command")
                    os.killpg(proc.pid, signal.SIGTERM)

    deadline = t0 + a.timeout
    rc = None
    while True:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)

        # Reading stdout blocks while a hung command prints nothing: the deadline is enforced by
        # a watchdog that kills the command and everything below it (its output then ends).
        def watchdog(p=proc):
            while p.poll() is None:
                if time.time() > deadline:
                    log.append(f"{time.time() - t0:8.3f} [recovery.py] timeout: SIGKILL to the command")
                    for pid in descendants(p.pid) + [p.pid]:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
                    state["timed_out"] = True
                    return
                time.sleep(0.5)
        threading.Thread(target=watchdog, daemon=True).start()
        for line in proc.stdout:
            on_line(proc, line)
            if time.time() > deadline:
                break
        try:
            rc = proc.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for pid in descendants(proc.pid):
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            proc.wait()
            rc = "timeout"
        if state.get("timed_out"):
            rc = "timeout"
        state["rcs"].append(rc)
        log.append(f"{time.time() - t0:8.3f} [recovery.py] command exited {rc}")
        if rc == 0 or rc == "timeout" or state["stopped_after_resume"] or state["restarts"] >= a.supervise:
            break
        state["restarts"] += 1

    res = json.loads(a.meta)
    res.update({"load_before": load_before, "cmd": cmd, "rc": rc, "started_at": t0, "wall_s": time.time() - t0,
                "kill_at_step": a.kill_at_step, **state, "log": log[-300:]})
    if state["t_kill"] and state["t_resume"]:
        res["recovery_s"] = state["t_resume"] - state["t_kill"]
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"{os.path.basename(a.out)}: rc={rc} recovery={res.get('recovery_s', float('nan')):.2f}s "
          f"resumed at step {state['resume_step']} (killed at {state.get('killed_at_step')}), "
          f"restarts by supervisor {state['restarts']}", file=sys.stderr)
    sys.exit(0 if (rc == 0 or state["stopped_after_resume"]) and "recovery_s" in res else 1)


if __name__ == "__main__":
    main()
