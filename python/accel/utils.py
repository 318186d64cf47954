"""The plugin and kwargs-handler classes of Accelerate that accel honours, and set_seed.

Accelerate's own classes (accelerate.utils.*) are accepted too: only the values they set away
from their defaults count (their to_kwargs()), as in Accelerate.
"""
import dataclasses
import enum
import os
import random
from datetime import timedelta
from typing import Optional

import torch


class _Handler:
    def to_kwargs(self):
        """The fields set away from their defaults (Accelerate's KwargsHandler.to_kwargs)."""
        default = type(self)()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}


@dataclasses.dataclass
class InitProcessGroupKwargs(_Handler):
    """backend -> key backend; timeout -> key pg_timeout_seconds."""
    backend: Optional[str] = None
    init_method: Optional[str] = None
    timeout: Optional[timedelta] = None


@dataclasses.dataclass
class DistributedDataParallelKwargs(_Handler):
    """The DDP settings libaccel's Reducer takes: ddp_bucket_cap_mb, ddp_find_unused_parameters,
    ddp_gradient_as_bucket_view, ddp_static_graph. dim and broadcast_buffers keep their defaults
    (0; buffers are broadcast from rank 0 once, at prepare)."""
    dim: int = 0
    broadcast_buffers: bool = True
    bucket_cap_mb: int = 25
    find_unused_parameters: bool = False
    check_reduction: bool = False
    gradient_as_bucket_view: bool = False
    static_graph: bool = False


@dataclasses.dataclass
class GradScalerKwargs(_Handler):
    """Accepted for compatibility; libaccel's fp16 loss scaler uses PyTorch's defaults."""
    init_scale: float = 65536.0
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000
    enabled: bool = True


class DynamoBackend(str, enum.Enum):
    NO = "NO"
    EAGER = "EAGER"
    AOT_EAGER = "AOT_EAGER"
    INDUCTOR = "INDUCTOR"
    AOT_TS_NVFUSER = "AOT_TS_NVFUSER"
    NVPRIMS_NVFUSER = "NVPRIMS_NVFUSER"
    CUDAGRAPHS = "CUDAGRAPHS"
    OFI = "OFI"
    FX2TRT = "FX2TRT"
    ONNXRT = "ONNXRT"
    TENSORRT = "TENSORRT"
    AOT_TORCHXLA_TRACE_ONCE = "AOT_TORCHXLA_TRACE_ONCE"
    TORCHXLA_TRACE_ONCE = "TORCHXLA_TRACE_ONCE"
    IPEX = "IPEX"
    TVM = "TVM"
    HPU_BACKEND = "HPU_BACKEND"


@dataclasses.dataclass
class TorchDynamoPlugin:
    """torch.compile's settings: keys dynamo_backend, dynamo_mode, dynamo_fullgraph,
    dynamo_dynamic. Fields left None leave the key to the lower layers (launch flag, env, file)."""
    backend: Optional[object] = None
    mode: Optional[str] = None
    fullgraph: Optional[bool] = None
    dynamic: Optional[bool] = None


class DistributedType(str, enum.Enum):
    NO = "NO"
    MULTI_CPU = "MULTI_CPU"
    MULTI_GPU = "MULTI_GPU"


@dataclasses.dataclass
class ProjectConfiguration:
    """project_dir -> key project_dir; logging_dir -> logging_dir (default: project_dir, as in
    Accelerate); total_limit -> checkpoint_keep."""
    project_dir: Optional[str] = None
    logging_dir: Optional[str] = None
    automatic_checkpoint_naming: bool = True
    total_limit: Optional[int] = None


def set_seed(seed: int, device_specific: bool = False, deterministic: bool = False):
    """Seeds random, numpy (when installed) and torch, as accelerate.utils.set_seed does."""
    if device_specific:
        seed += int(os.environ.get("RANK", "0"))
    random.seed(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:
        pass
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True)
