"""The DataLoader that Accelerator.prepare returns: this rank's share of every epoch, on the
device, resumable at the batch a checkpoint was taken.

Sharding is Accelerate's default (split_batches=False, even_batches=True): the original batch
sampler's batches are dealt round-robin, batch i to rank i % num_processes; when they do not
divide evenly, batches made of the epoch's first samples fill the last round. Shuffling (a
RandomSampler in the original loader) is one permutation per epoch from the `seed` key and the
epoch number, the same on every rank and again after a resume (Accelerate's
use_seedable_sampler=True). The epoch and the batches already consumed in it are libaccel's
counters (Accelerator.begin_epoch, restored from a checkpoint), so after a resume the first
epoch starts at the batch after the last one trained, and no batch is loaded to be skipped.
"""
import math

import torch
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, RandomSampler


def to_device(batch, device):
    """Moves every tensor in a (nested) batch to device."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return type(batch)({k: to_device(v, device) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


class _Batches:
    """A batch sampler over a fixed list of index batches."""

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


class PreparedDataLoader:
    def __init__(self, accelerator, loader: DataLoader, device_placement: bool = True):
        self._acc = accelerator
        self.loader = loader
        self.dataset = loader.dataset
        self.batch_size = loader.batch_size
        self.device_placement = device_placement
        self._next_epoch = None  # None: libaccel's (restored) epoch
        self._iterable = isinstance(loader.dataset, IterableDataset)

    # --- the epoch's batches ------------------------------------------------------------------
    def _index_batches(self, epoch):
        loader = self.loader
        bs = loader.batch_sampler
        if isinstance(bs, BatchSampler) and isinstance(bs.sampler, RandomSampler):
            g = torch.Generator()
            g.manual_seed(self._acc._seed + epoch)
            order = torch.randperm(len(bs.sampler.data_source), generator=g).tolist()
            batches = [order[i:i + bs.batch_size] for i in range(0, len(order), bs.batch_size)]
            if bs.drop_last and batches and len(batches[-1]) < bs.batch_size:
                batches.pop()
        else:
            batches = [list(b) for b in bs]
        world, rank = self._acc.num_processes, self._acc.process_index
        if world > 1 and batches:
            full = max(len(b) for b in batches)
            flat = [i for b in batches for i in b]
            if len(batches[-1]) < full:  # even_batches: complete the short batch from the start
                batches[-1] = batches[-1] + flat[:full - len(batches[-1])]
            k = 0
            while len(batches) % world:
                batches.append([flat[(k + j) % len(flat)] for j in range(full)])
                k += full
        return batches[rank::world]

    def __len__(self):
        if self._iterable:
            return math.ceil(len(self.loader) / self._acc.num_processes)
        return len(self._index_batches(0))

    def set_epoch(self, epoch: int):
        self._next_epoch = epoch

    def __iter__(self):
        core = self._acc._core
        epoch = core.epoch if self._next_epoch is None else self._next_epoch
        self._next_epoch = epoch + 1
        if self.batch_size:
            core.set_batch_shape(self.batch_size, 0)
        if self._iterable:
            yield from self._iterate_stream(core, epoch)
            return
        mine = self._index_batches(epoch)
        core.begin_epoch(epoch, len(mine))
        skip = core.batch_in_epoch  # > 0 only right after a resume into this epoch
        loader = self.loader
        # Its own generator: a DataLoader iterator draws its workers' base seed from the global
        # torch RNG otherwise, which a resumed run would then draw at another point.
        g = torch.Generator()
        g.manual_seed(self._acc._seed * 1000003 + epoch)
        kwargs = dict(batch_sampler=_Batches(mine[skip:]), collate_fn=loader.collate_fn, generator=g,
                      num_workers=loader.num_workers, pin_memory=loader.pin_memory,
                      worker_init_fn=loader.worker_init_fn, timeout=loader.timeout)
        if loader.num_workers > 0:
            kwargs["prefetch_factor"] = loader.prefetch_factor
        for batch in DataLoader(self.dataset, **kwargs):
            yield to_device(batch, self._acc.device) if self.device_placement else batch

    def _iterate_stream(self, core, epoch):
        """An IterableDataset: every rank reads the stream and keeps its round-robin share."""
        world, rank = self._acc.num_processes, self._acc.process_index
        core.begin_epoch(epoch, -1)
        skip = core.batch_in_epoch
        mine = 0
        for i, batch in enumerate(self.loader):
            if i % world != rank:
                continue
            mine += 1
            if mine <= skip:
                continue
            yield to_device(batch, self._acc.device) if self.device_placement else batch
