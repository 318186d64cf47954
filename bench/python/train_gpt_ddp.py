"""accel-train-gpt, written the way a PyTorch user would: torch.distributed (gloo) +
DistributedDataParallel, launched with torchrun.

    torchrun --nproc_per_node 2 bench/python/train_gpt_ddp.py --gradient-accumulation-steps 2

With --device cuda (scripts/gpu-check.sh) each rank trains on cuda:LOCAL_RANK with NCCL, bf16
autocast on CUDA and pinned, non-blocking host-to-device batch copies, as accel-train-gpt does
there, and the summary line adds the peak GPU memory.

The training step is the one libaccel runs: bf16 autocast (on CPU by default), loss / window size, DDP's
no_sync() on the micro-batches that do not end a window, clip_grad_norm_(1.0) on the ones that
do, then AdamW and StepLR (100, 0.5) once per optimizer step, and the mean loss over ranks
(one all-reduce per step, as acc.reduce does) for the "step N loss L" line.

With --checkpoint-dir and --checkpoint-every, rank 0 saves model, optimizer, scheduler and the
data position every N optimizer steps (written to a temporary name, then renamed), and every
start resumes from the newest one: what torchrun --max-restarts needs to make progress.
"""
import contextlib
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_common as gc  # noqa: E402


def extra_flags(p):
    p.add_argument("--gradient-accumulation-steps", type=int, default=1)
    p.add_argument("--bf16", type=int, default=1, help="1: bf16 autocast, 0: float32")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--checkpoint-dir", default="")
    p.add_argument("--checkpoint-every", type=int, default=0)


def newest_checkpoint(folder):
    if not folder or not os.path.isdir(folder):
        return None
    steps = [int(n[len("checkpoint_"):-len(".pt")]) for n in os.listdir(folder)
             if n.startswith("checkpoint_") and n.endswith(".pt")]
    return os.path.join(folder, f"checkpoint_{max(steps)}.pt") if steps else None


def main():
    args = gc.parse_flags("Train the small GPT with torch DDP", extra_flags)
    clock = gc.StepClock(args.warmup_steps)
    cuda = args.device == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu")
    torch.manual_seed(args.seed)

    corpus = gc.read_corpus(args.corpus)
    model, opt, sched = gc.build(args)
    model.to(device)  # before loading: the optimizer's state follows its parameters' device
    completed, epoch0, b0 = 0, 0, 0
    ckpt = newest_checkpoint(args.checkpoint_dir)
    if ckpt:
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        completed, epoch0, b0 = state["completed"], state["epoch"], state["batch"]
        if rank == 0:
            print(f"resumed from {ckpt} at step {completed}", flush=True)
    ddp = DDP(model)  # broadcasts rank 0's parameters
    accum = args.gradient_accumulation_steps
    bpe = args.batches_per_epoch
    span = args.seq_len + 1
    seed = args.seed  # the data order's seed: accel::Batches uses the seed key (42)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if args.bf16 \
        else contextlib.nullcontext

    epoch = epoch0
    while completed < args.steps:
        b = b0 if epoch == epoch0 else 0
        while b < bpe and completed < args.steps:
            window_start = (b // accum) * accum
            window = min(accum, bpe - window_start)      # the epoch's last window may be short
            sync = b == window_start + window - 1
            tokens = gc.micro_batch(corpus, seed, epoch, b, args.batch_size, world, rank, span)
            if cuda:
                tokens = tokens.pin_memory().to(device, non_blocking=True)
            with (contextlib.nullcontext() if sync else ddp.no_sync()):
                with autocast():
                    loss = ddp(tokens)
                (loss / window).backward()
            b += 1
            if not sync:
                continue
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            completed += 1
            mean = loss.detach().float().clone()
            dist.all_reduce(mean)
            mean = mean.item() / world
            clock.completed(completed)
            if rank == 0 and (completed % args.log_every == 0 or completed == args.steps):
                print(f"step {completed} loss {mean:.6g}", flush=True)
            if args.checkpoint_every and completed % args.checkpoint_every == 0:
                if rank == 0:
                    os.makedirs(args.checkpoint_dir, exist_ok=True)
                    path = os.path.join(args.checkpoint_dir, f"checkpoint_{completed}.pt")
                    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(), "completed": completed,
                                "epoch": epoch if b < bpe else epoch + 1,
                                "batch": b if b < bpe else 0}, path + ".tmp")
                    os.replace(path + ".tmp", path)
                dist.barrier()
        epoch += 1

    dist.barrier()
    if rank == 0:
        print(f"done: {completed} steps", flush=True)
        extra = {"peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20} if cuda else {}
        print(clock.summary_line("torch-ddp", world=world, accumulation=accum, device=args.device,
                                 precision="bf16" if args.bf16 else "no", **extra), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
