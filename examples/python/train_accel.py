#!/usr/bin/env python3
"""A kohya-style Hugging Face Accelerate training script, with nothing Accel-specific in it.

prepare_accelerator() is the seed's (kohya's train_util.prepare_accelerator, less DeepSpeed):
Accelerator(gradient_accumulation_steps, mixed_precision, log_with, project_dir, dynamo_plugin,
kwargs_handlers=[InitProcessGroupKwargs, DistributedDataParallelKwargs]) built from the
script's own flags. Flags left unset leave the choice to Accelerate, which reads its
environment: ACCELERATE_MIXED_PRECISION when mixed_precision is None (state.py), and
ACCELERATE_GRADIENT_ACCUMULATION_STEPS over the constructor's value (accelerator.py). Under
`accel launch` (and so in an AccelJob) those variables carry the job's spec.precision and
spec.gradientAccumulationSteps; under `accelerate launch` they carry its flags.

--report-dir makes every rank write what it saw (accelerator.mixed_precision,
gradient_accumulation_steps, the dtype its first layer computed in, optimizer steps taken, the
loss of every step, the final parameters) to <dir>/accelerate-attempt<N>-rank<R>.json,
N = TORCHELASTIC_RESTART_COUNT.

train_accel.py is this script with its first import line changed to `from accel import ...`
(the accel package: Accel's C++ core under the same API; README "From Accelerate to Accel").
"""
import argparse
import json
import os
import time

SCRIPT_START = time.time()  # before torch: the report's start-up time includes the imports

from datetime import timedelta

import torch
from accel import Accelerator, DistributedDataParallelKwargs, InitProcessGroupKwargs
from accelerate.utils import DynamoBackend, TorchDynamoPlugin, set_seed


def prepare_accelerator(args: argparse.Namespace) -> Accelerator:
    """The seed's prepare_accelerator. DeepSpeed is not supported in this script."""
    if args.logging_dir is None:
        logging_dir = None
    else:
        log_prefix = "" if args.log_prefix is None else args.log_prefix
        logging_dir = args.logging_dir + "/" + log_prefix + time.strftime("%Y%m%d%H%M%S", time.localtime())

    if args.log_with is None:
        log_with = "tensorboard" if logging_dir is not None else None
    else:
        log_with = args.log_with
        if log_with in ["tensorboard", "all"] and logging_dir is None:
            raise ValueError("logging_dir is required when log_with is tensorboard")
        if log_with in ["wandb", "all"]:
            import wandb  # noqa: F401  (needs WANDB_API_KEY, e.g. from a secretKeyRef)
            if logging_dir is not None:
                os.makedirs(logging_dir, exist_ok=True)
                os.environ["WANDB_DIR"] = logging_dir

    kwargs_handlers = [
        (
            InitProcessGroupKwargs(
                backend="gloo" if not torch.cuda.is_available() else "nccl",
                timeout=timedelta(minutes=args.ddp_timeout) if args.ddp_timeout else None,
            )
            if torch.cuda.device_count() > 1
            else None
        ),
        (
            DistributedDataParallelKwargs(
                gradient_as_bucket_view=args.ddp_gradient_as_bucket_view, static_graph=args.ddp_static_graph
            )
            if args.ddp_gradient_as_bucket_view or args.ddp_static_graph
            else None
        ),
    ]
    kwargs_handlers = [i for i in kwargs_handlers if i is not None]

    dynamo_plugin = None
    if args.dynamo_backend.upper() != "NO":
        dynamo_plugin = TorchDynamoPlugin(
            backend=DynamoBackend(args.dynamo_backend.upper()),
            mode=args.dynamo_mode,
            fullgraph=args.dynamo_fullgraph,
            dynamic=args.dynamo_dynamic,
        )

    accelerator = Accelerator(
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=args.mixed_precision if args.mixed_precision else None,
        log_with=log_with,
        project_dir=logging_dir,
        dynamo_plugin=dynamo_plugin,
        kwargs_handlers=kwargs_handlers,
    )
    accelerator.print("accelerator device:", accelerator.device)
    return accelerator


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mixed_precision", default=None, choices=["no", "fp16", "bf16"],
                   help="unset: Accelerate's ACCELERATE_MIXED_PRECISION (the job's precision)")
    p.add_argument("--gradient_accumulation_steps", type=int, default=1,
                   help="ACCELERATE_GRADIENT_ACCUMULATION_STEPS, when set, wins (Accelerate's rule)")
    p.add_argument("--log_with", default=None, choices=["tensorboard", "wandb", "all"])
    p.add_argument("--logging_dir", default=None)
    p.add_argument("--log_prefix", default=None)
    p.add_argument("--ddp_timeout", type=int, default=None, help="process-group timeout, minutes")
    p.add_argument("--ddp_gradient_as_bucket_view", action="store_true")
    p.add_argument("--ddp_static_graph", action="store_true")
    p.add_argument("--dynamo_backend", default="no")
    p.add_argument("--dynamo_mode", default=None)
    p.add_argument("--dynamo_fullgraph", action="store_true")
    p.add_argument("--dynamo_dynamic", action="store_true")
    p.add_argument("--samples", type=int, default=64, help="dataset size (all ranks together)")
    p.add_argument("--batch_size", type=int, default=4, help="per rank")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no_shuffle", action="store_true", help="the samples in order (to compare runs)")
    p.add_argument("--report-dir", dest="report_dir", default=None)
    return p.parse_args()


def main():
    args = parse_args()
    accelerator = prepare_accelerator(args)
    set_seed(args.seed)

    x = torch.randn(args.samples, 8)
    y = (x @ torch.arange(1.0, 9.0)).unsqueeze(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=args.batch_size,
                                         shuffle=not args.no_shuffle)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    # What the first layer computes in: bfloat16/float16 when Accelerate's autocast is on (the
    # prepared model's outputs are converted back to float32, so they would not show it).
    layer_dtype = {}
    model[0].register_forward_hook(lambda module, inputs, out: layer_dtype.update(dtype=str(out.dtype)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    if accelerator.log_with:
        accelerator.init_trackers("accel-example", config={"batch_size": args.batch_size})

    optimizer_steps, micro_batches, losses = 0, 0, []
    first_batch = None
    for inputs, targets in loader:
        if first_batch is None:
            first_batch = time.time()
        with accelerator.accumulate(model):
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
        micro_batches += 1
        if accelerator.sync_gradients:
            optimizer_steps += 1
            mean = accelerator.reduce(loss.detach(), reduction="mean").item()
            losses.append(mean)
            accelerator.log({"loss": mean}, step=optimizer_steps)
            accelerator.print(f"step {optimizer_steps} loss {mean:.4f}")
    accelerator.wait_for_everyone()
    end = time.time()

    if args.report_dir:
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        path = f"{args.report_dir}/accelerate-attempt{attempt}-rank{accelerator.process_index}.json"
        os.makedirs(args.report_dir, exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump({
                "mixed_precision": accelerator.mixed_precision,
                "gradient_accumulation_steps": accelerator.gradient_accumulation_steps,
                "num_processes": accelerator.num_processes,
                "process_index": accelerator.process_index,
                "local_process_index": accelerator.local_process_index,
                "distributed_type": str(accelerator.distributed_type),
                "device": str(accelerator.device),
                "layer_dtype": layer_dtype.get("dtype"),
                "micro_batches": micro_batches,
                "optimizer_steps": optimizer_steps,
                "losses": losses,
                "startup_seconds": first_batch - SCRIPT_START,
                "train_seconds": end - first_batch,
                "parameters": [v for p in accelerator.unwrap_model(model).parameters()
                               for v in p.detach().flatten().tolist()],
                "env": {k: v for k, v in os.environ.items() if k.startswith("ACCELERATE_")},
            }, f, indent=1, sort_keys=True)
        os.replace(path + ".tmp", path)
    accelerator.end_training()


if __name__ == "__main__":
    main()
