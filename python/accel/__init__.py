"""accel: Accel's C++ accelerator core (libaccel) for Python training programs.

Shaped like Hugging Face Accelerate, so that a script moves over by changing its import line::

    from accel import Accelerator, DistributedDataParallelKwargs, InitProcessGroupKwargs

Under it, libaccel does the work: the configuration precedence (code > launch flag > env >
file > default, every value with its source, the table `accel config explain` prints), the
c10d process group and its timeout, DDP through c10d's Reducer on the module's own parameters,
accumulation with the short last window, loss scaling, atomic checkpoints with automatic resume,
the stall watchdog, /metrics and /progress, and the trackers. python/README.md says what each
call does and where it differs from Accelerate.
"""
import torch  # first: accel._core's torch libraries resolve to the ones torch loaded

from . import _core
from ._core import AccelError, ConfigError
from .accelerator import Accelerator
from .data import PreparedDataLoader
from .utils import (
    DistributedDataParallelKwargs,
    DistributedType,
    DynamoBackend,
    GradScalerKwargs,
    InitProcessGroupKwargs,
    ProjectConfiguration,
    TorchDynamoPlugin,
    set_seed,
)

__all__ = [
    "AccelError",
    "Accelerator",
    "ConfigError",
    "DistributedDataParallelKwargs",
    "DistributedType",
    "DynamoBackend",
    "GradScalerKwargs",
    "InitProcessGroupKwargs",
    "PreparedDataLoader",
    "ProjectConfiguration",
    "TorchDynamoPlugin",
    "set_seed",
]
__version__ = "0.1.0"
