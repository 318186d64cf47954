"""accel-train-gpt, written the way a Hugging Face Accelerate user would.

    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 --mixed_precision bf16 \
        bench/python/train_gpt_accelerate.py --gradient-accumulation-steps 2

Mixed precision comes from the launcher (Accelerator() reads ACCELERATE_MIXED_PRECISION). The
accumulation steps are passed in code: `accelerate launch --gradient_accumulation_steps` only
reaches the ranks under DeepSpeed (accelerate 1.15, utils/launch.py; accelerate #3571) and is
silently ignored here, which would make each "step" half the work of the other trainers'.
bf16 autocast is applied by prepare(), accumulate() skips the all-reduce off window boundaries,
backward() divides by the accumulation steps, clip_grad_norm_(1.0) runs on sync steps, and the
mean loss over ranks (accelerator.reduce, one all-reduce per step) feeds the "step N loss L" line.

The StepLR scheduler is stepped by hand once per optimizer step instead of being prepare()d:
a prepared scheduler steps num_processes times per optimizer step (Accelerate assumes the
schedule was written for one process), which would halve the learning rate twice as often as
in the other two trainers. It does not change the work per step.
"""
import os
import sys

import torch
from accelerate import Accelerator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_common as gc  # noqa: E402


def extra_flags(p):
    p.add_argument("--gradient-accumulation-steps", type=int, default=1)


def main():
    args = gc.parse_flags("Train the small GPT with Hugging Face Accelerate", extra_flags)
    clock = gc.StepClock(args.warmup_steps)
    acc = Accelerator(gradient_accumulation_steps=args.gradient_accumulation_steps)
    torch.manual_seed(args.seed)
    rank, world = acc.process_index, acc.num_processes

    corpus = gc.read_corpus(args.corpus)
    model, opt, sched = gc.build(args)
    model, opt = acc.prepare(model, opt)
    bpe = args.batches_per_epoch
    span = args.seq_len + 1
    seed = args.seed  # the data order's seed: accel::Batches uses the seed key (42)

    completed, epoch = 0, 0
    while completed < args.steps:
        for b in range(bpe):
            if completed >= args.steps:
                break
            with acc.accumulate(model):
                tokens = gc.micro_batch(corpus, seed, epoch, b, args.batch_size, world, rank,
                                        span).to(acc.device)
                loss = model(tokens)
                acc.backward(loss)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad()
            if not acc.sync_gradients:
                continue
            sched.step()
            completed += 1
            mean = acc.reduce(loss.detach().float(), reduction="mean").item()
            clock.completed(completed)
            if completed % args.log_every == 0 or completed == args.steps:
                acc.print(f"step {completed} loss {mean:.6g}", flush=True)
        epoch += 1

    acc.wait_for_everyone()
    acc.print(f"done: {completed} steps", flush=True)
    acc.print(clock.summary_line("accelerate", world=world,
                                 accumulation=acc.gradient_accumulation_steps,
                                 precision=acc.mixed_precision), flush=True)
    acc.end_training()


if __name__ == "__main__":
    main()
