#!/usr/bin/env python3
"""A training program on the accel package for the resume test (accel_module_test.py).

Dropout (the torch RNG), a shuffled loader (the data position), a StepLR scheduler (its state),
Python's random (the extra RNG state) and accumulation 2 over 7 micro-batches per rank (a short
last window) all shape the parameters, so identical final parameters after kill -> resume mean
every piece was restored. --die-after-step K SIGKILLs rank 1 right after optimizer step K.
Writes rank 0's final parameters (torch.save) and the losses it logged to --out.
"""
import argparse
import os
import random
import signal

import torch

import accel

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--die-after-step", dest="die_after", type=int, default=0)
args = p.parse_args()

acc = accel.Accelerator(gradient_accumulation_steps=2)  # checkpointing, trackers: ACCEL_* env
torch.manual_seed(0)
x = torch.randn(28, 6)
y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(28, 1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=2, shuffle=True)
model = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.7)
model, opt, loader, sched = acc.prepare(model, opt, loader, sched)
acc.init_trackers("resume-test", config={"lr": 0.05, "epochs": args.epochs})

losses = {}
while acc.completed_steps < 4 * args.epochs:  # 4 optimizer steps per epoch
    for xb, yb in loader:
        with acc.accumulate(model):
            noise = random.random() * 1e-3  # Python's RNG: restored from the checkpoint too
            loss = torch.nn.functional.mse_loss(model(xb), yb) + noise
            acc.backward(loss)
            acc.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
        if acc.sync_gradients:
            step = acc.completed_steps
            mean = acc.reduce(loss.detach(), reduction="mean").item()
            losses[step] = mean
            acc.log({"loss": mean, "lr": sched.get_last_lr()[0]}, step=step)
            if step == args.die_after and acc.process_index == 1:
                os.kill(os.getpid(), signal.SIGKILL)
acc.wait_for_everyone()
if acc.is_main_process:
    torch.save({"parameters": [t.detach().clone() for t in acc.unwrap_model(model).parameters()],
                "losses": losses, "lr": sched.get_last_lr()[0], "steps": acc.completed_steps}, args.out)
acc.end_training()
