"""What the Python trainers share with examples/gpt/train_gpt.cpp: the model, the corpus, the
deterministic sample addressing, the flags, and the benchmark summary line.

The model is the same architecture as examples/gpt/gpt_model.h (byte embedding + learned
position embedding, pre-LayerNorm blocks with a fused qkv projection and an explicit causal
softmax attention, a GELU MLP of width 4*dim, a final LayerNorm and a bias-free head), with
the same sizes. Parameter initialisation follows PyTorch's Python defaults, which differ from
LibTorch's in a few modules; that changes the loss curve a little, not the work per step.
"""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# The data order of accel::Batches (worker/src/core/data.cpp), bit for bit. Sample i is the
# corpus window starting at byte i; epoch e is a permutation of all windows (Fisher-Yates from
# the front seeded by splitmix64(seed, e)); micro-batch m gives rank r the windows at positions
# m*B*world + r*B .. + B-1. So every rank count and every accumulation sees the same samples per
# optimizer step, in C++ and in Python alike.
_M64 = (1 << 64) - 1


def mix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def read_corpus(path: str) -> torch.Tensor:
    """All regular files of a folder in sorted order (or one file), as int64 byte values."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, n) for n in os.listdir(path)
                       if os.path.isfile(os.path.join(path, n)))
    else:
        files = [path]
    data = b"".join(open(f, "rb").read() for f in files)
    if len(data) < 1024:
        raise SystemExit(f"corpus too small: {path}")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).to(torch.long)


class EpochOrder:
    """The first positions of epoch `epoch`'s permutation of range(n), computed as needed."""

    def __init__(self, seed: int, epoch: int, n: int):
        self.n, self.state, self.swapped, self.order = n, mix(seed ^ mix(epoch)), {}, []

    def upto(self, k: int):
        while len(self.order) < min(k, self.n):
            i = len(self.order)
            if i + 1 < self.n:
                self.state = mix(self.state)
                j = i + self.state % (self.n - i)
                ai, aj = self.swapped.get(i, i), self.swapped.get(j, j)
                self.swapped[i], self.swapped[j] = aj, ai
                self.order.append(aj)
            else:
                self.order.append(self.swapped.get(i, i))
        return self.order


_orders = {}


def micro_batch(corpus: torch.Tensor, seed: int, epoch: int, b: int, batch: int, world: int,
                rank: int, span: int) -> torch.Tensor:
    positions = corpus.size(0) - span
    order = _orders.setdefault((seed, epoch, positions), EpochOrder(seed, epoch, positions))
    first = b * batch * world + rank * batch
    starts = order.upto(first + batch)[first:first + batch]
    return torch.stack([corpus.narrow(0, s, span) for s in starts])


# ---------------------------------------------------------------------------------------------
# The model (examples/gpt/gpt_model.h).
class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, 2)
        shape = lambda t: t.view(B, T, self.heads, C // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = shape(q), shape(k), shape(v)
        att = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(C // self.heads)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        att = att.masked_fill(mask, -1e4).softmax(-1)
        y = torch.matmul(self.drop(att), v).transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, dropout)
        self.ln2 = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 4 * dim)
        self.out = nn.Linear(4 * dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))


class GPT(nn.Module):
    def __init__(self, vocab=256, block=64, layers=2, heads=4, dim=128, dropout=0.0):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(block, dim)
        self.blocks = nn.Sequential(*[Block(dim, heads, dropout) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens):
        """Mean next-byte cross-entropy of tokens [B, T+1] (inputs and targets)."""
        x, y = tokens[:, :-1], tokens[:, 1:]
        positions = torch.arange(x.size(1), dtype=torch.long, device=x.device)
        h = self.tok(x) + self.pos(positions)
        h = self.blocks(h)
        logits = self.head(self.ln(h))
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))


# ---------------------------------------------------------------------------------------------
# Flags: the same names and defaults as accel-train-gpt.
def parse_flags(description: str, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--steps", type=int, default=200, help="Optimizer steps to train")
    p.add_argument("--batch-size", type=int, default=8, help="Sequences per process per micro-batch")
    p.add_argument("--batches-per-epoch", type=int, default=100, help="Micro-batches per epoch")
    p.add_argument("--seq-len", type=int, default=64, help="Context length")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--corpus", default="/usr/share/common-licenses")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=42, help="torch RNG seed (accel's default seed)")
    p.add_argument("--warmup-steps", type=int, default=5,
                   help="Steps excluded from the steps/s of the summary line")
    if extra:
        extra(p)
    return p.parse_args()


def build(args):
    model = GPT(block=args.seq_len, layers=args.layers, heads=args.heads, dim=args.dim,
                dropout=args.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)
    return model, opt, sched


# ---------------------------------------------------------------------------------------------
# Self-measurement, printed once by rank 0 at the end (a cross-check of what the harness in
# bench/python/measure.py observes from outside, which is what the report uses).
def process_start_time() -> float:
    """Unix time at which this process was created (from /proc, like ps does)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    start_ticks = int(fields[19])  # field 22 of stat(5), counted after "pid (comm)"
    with open("/proc/stat") as f:
        btime = next(int(l.split()[1]) for l in f if l.startswith("btime"))
    return btime + start_ticks / os.sysconf("SC_CLK_TCK")


class StepClock:
    def __init__(self, warmup_steps: int):
        self.start = process_start_time()
        self.warmup = warmup_steps
        self.first_step = None
        self.t_warm = None
        self.n_warm = 0
        self.t_last = None
        self.n_last = 0

    def completed(self, step: int):
        now = time.time()
        if self.first_step is None:
            self.first_step = now - self.start
        if step == self.warmup:
            self.t_warm, self.n_warm = now, step
        self.t_last, self.n_last = now, step

    def summary_line(self, system: str, **ran_with) -> str:
        sps = None
        if self.t_warm is not None and self.n_last > self.n_warm:
            sps = (self.n_last - self.n_warm) / (self.t_last - self.t_warm)
        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return "bench-summary " + json.dumps({
            "system": system, "steps_per_s": sps, "first_step_s": self.first_step,
            "peak_rss_mib_rank0": rss_mib, "torch_threads": torch.get_num_threads(), **ran_with})
