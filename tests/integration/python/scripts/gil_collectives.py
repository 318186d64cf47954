#!/usr/bin/env python3
"""Collectives and the GIL (accel_module_test.py). A call into libaccel that waits on the
process group must not hold the GIL: a Gloo thread takes the GIL to free a finished
collective's Python-owned tensor (the reduce and gather below) while it holds its queue's lock,
so such a wait can deadlock; and every other Python thread of the program (a data-loading or
heartbeat thread) would stop for as long as the wait lasts.

The second synchronising forward rebuilds DDP's buckets with a broadcast, inside
accumulate()'s __enter__. Rank 1 arrives there 2 s late, so rank 0 waits in it; a Python thread
on rank 0 counts while it does. Rank 0 prints TICKS <count during that wait> and DONE <steps>.
"""
import sys
import threading
import time

import torch

import accel

sys.setswitchinterval(60.0)  # the main thread gives up the GIL only where it blocks
ticks = 0


def tick():
    global ticks
    while True:
        ticks += 1
        time.sleep(0.005)


threading.Thread(target=tick, daemon=True).start()
acc = accel.Accelerator()
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
model, opt = acc.prepare(model, opt)
during = None
for i in range(4):
    if i == 1 and acc.process_index == 1:
        time.sleep(2.0)
    before = ticks
    with acc.accumulate(model):
        if i == 1:
            during = ticks - before
        loss = model(torch.randn(2, 4)).pow(2).mean()
        acc.backward(loss)
        opt.step()
        opt.zero_grad()
    acc.reduce(loss.detach(), reduction="mean")  # a Python-owned tensor in a Gloo work
    acc.gather(loss.detach().reshape(1))
acc.wait_for_everyone()
acc.print(f"TICKS {during}")
acc.print(f"DONE {acc.completed_steps}")
