#!/usr/bin/env python3
"""A torchrun-style DDP training script, with nothing Accel-specific in it.

It reads what torchrun gives a worker (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, ...), joins
the process group with init_process_group("env://"), and trains a small linear regression with
DistributedDataParallel: nccl on GPUs, gloo on CPU. The same file runs under
`torchrun --nproc-per-node 2 train_ddp.py`, under `accel launch -- python train_ddp.py`, and as
the command of an AccelJob (ddp-2node-cpu.yaml).

--report-dir makes every rank write what it saw (the launcher's variables, its CPU affinity,
the result) to <dir>/ddp-attempt<N>-rank<R>.json, N = TORCHELASTIC_RESTART_COUNT.
--hold-at-step and --exit-code are for tests: the first attempt stops at a step until killed
(the gang restart test), or every rank exits with a code (the exit-code test).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

# What torchrun's agent sets for a worker (torch/distributed/elastic/agent/server/
# local_elastic_agent.py, _start_workers), and OMP_NUM_THREADS.
TORCHRUN_VARIABLES = [
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
    "ROLE_NAME", "ROLE_RANK", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
    "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_RUN_ID", "TORCHELASTIC_USE_AGENT_STORE",
    "TORCH_NCCL_ASYNC_ERROR_HANDLING", "OMP_NUM_THREADS",
]


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--report-dir", default=None)
    p.add_argument("--hold-at-step", type=int, default=None,
                   help="testing: on attempt 0, every rank stops after this step (at most 300 s)")
    p.add_argument("--exit-code", type=int, default=None,
                   help="testing: every rank exits with this code after joining the group")
    args = p.parse_args()

    local_rank = int(os.environ["LOCAL_RANK"])
    attempt = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    if torch.cuda.is_available():
        backend, device = "nccl", torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        backend, device = "gloo", torch.device("cpu")
    dist.init_process_group(backend, init_method="env://")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.exit_code is not None:
        print(f"rank {rank}: exiting with {args.exit_code} as asked", flush=True)
        sys.exit(args.exit_code)

    torch.manual_seed(0)  # the same initial parameters on every rank (DDP also broadcasts them)
    model = DDP(torch.nn.Linear(8, 1).to(device),
                device_ids=[local_rank] if backend == "nccl" else None)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    data = torch.Generator().manual_seed(1000 + rank)  # each rank its own samples
    target = torch.arange(1.0, 9.0)
    loss = torch.zeros(())
    for step in range(1, args.steps + 1):
        x = torch.randn(32, 8, generator=data)
        y = (x @ target).unsqueeze(1)
        loss = torch.nn.functional.mse_loss(model(x.to(device)), y.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if rank == 0 and (step % 5 == 0 or step == args.steps):
            print(f"step {step} loss {loss.item():.4f}", flush=True)
        if args.hold_at_step == step and attempt == 0:
            if args.report_dir:
                write_json(f"{args.report_dir}/ddp-attempt0-rank{rank}.holding", {"pid": os.getpid()})
            print(f"rank {rank} (pid {os.getpid()}) holding at step {step}", flush=True)
            time.sleep(300)
            sys.exit(1)

    # DDP keeps the replicas equal: every rank's parameters are rank 0's.
    flat = torch.cat([q.detach().flatten() for q in model.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, src=0)
    if args.report_dir:
        write_json(f"{args.report_dir}/ddp-attempt{attempt}-rank{rank}.json", {
            "env": {k: os.environ.get(k) for k in TORCHRUN_VARIABLES},
            "rank": rank, "world_size": world, "backend": backend,
            "steps": args.steps, "final_loss": loss.item(),
            "parameters_equal_rank0": bool(torch.equal(flat, ref)),
            "cpu_affinity": sorted(os.sched_getaffinity(0)),
        })
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
