"""accel.Accelerator: Hugging Face Accelerate's Accelerator, on libaccel (python/README.md)."""
import atexit
import contextlib
import io
import json
import os
import random
import shutil
import sys
import warnings
import weakref
from datetime import timedelta

import torch

from . import _core
from .data import PreparedDataLoader
from .utils import DistributedType

_accelerators = weakref.WeakSet()


def _text(value):
    """A Python value as the configuration's text (the code layer of the precedence)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, timedelta):
        return str(int(value.total_seconds()))
    value = getattr(value, "value", value)  # an enum (PrecisionType, LoggerType, DynamoBackend)
    return str(value)


def _hparam(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(getattr(value, "value", value))


def _dumps(state):
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def _loads(data):
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _excepthook(kind, error, tb):
    """An accel.AccelError ends the process with its documented exit code (api/EXIT_CODES.md:
    78 configuration, 79 rendezvous, 80 collective, 82 preempted, 84 checkpoint write), which
    is what AccelJob's restart policy reads; anything else keeps Python's exit code 1."""
    _previous_excepthook(kind, error, tb)
    code = getattr(error, "exit_code", None)
    if isinstance(error, _core.AccelError) and isinstance(code, int) and code > 1:
        for acc in list(_accelerators):
            acc._end(success=False)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


_previous_excepthook = sys.excepthook
sys.excepthook = _excepthook


@atexit.register
def _end_all():
    for acc in list(_accelerators):
        acc._end(success=True)
        acc._core.close()  # libaccel's process group ends here, while threads may still take the GIL


# Accelerate arguments that accel takes with their default value only (else: TypeError).
_ACCELERATE_DEFAULTS = {
    "split_batches": False, "even_batches": True, "dispatch_batches": None, "deepspeed_plugin": None,
    "fsdp_plugin": None, "megatron_lm_plugin": None, "torch_tp_plugin": None, "parallelism_config": None,
}
# Accepted and not honoured, with the reason.
_ACCELERATE_IGNORED = {
    "rng_types": "libaccel saves and restores the torch RNG of every rank itself",
    "dataloader_config": "prepared loaders always shard Accelerate's default way (python/README.md)",
    "gradient_accumulation_plugin": None,
}


class Accelerator:
    """Accelerate's Accelerator on libaccel. Arguments given here are the *code* layer of the
    precedence: they beat `accel launch` flags, ACCEL_* variables and the config file (the
    Accelerate trap, ACCELERATE_GRADIENT_ACCUMULATION_STEPS overriding the constructor, does not
    exist). Arguments left None leave the key to those layers. Any libaccel key may be given by
    name too (seed=, checkpoint_every_steps=, stall_timeout_seconds=, metrics_port=, ...)."""

    def __init__(self, *, device_placement=True, mixed_precision=None, gradient_accumulation_steps=None,
                 cpu=None, log_with=None, project_dir=None, project_config=None, dynamo_backend=None,
                 dynamo_plugin=None, kwargs_handlers=None, step_scheduler_with_optimizer=True,
                 config_file=None, **settings):
        code = {}
        for name, default in _ACCELERATE_DEFAULTS.items():
            if name in settings:
                value = settings.pop(name)
                if value != default:
                    raise TypeError(f"Accelerator({name}={value!r}): not supported by accel (python/README.md)")
        for name, why in _ACCELERATE_IGNORED.items():
            if name in settings:
                value = settings.pop(name)
                if name == "gradient_accumulation_plugin" and value is not None:
                    if gradient_accumulation_steps is None:
                        gradient_accumulation_steps = value.num_steps
                elif value is not None:
                    warnings.warn(f"Accelerator({name}=...) is not honoured: {why}", stacklevel=2)
        if not step_scheduler_with_optimizer:
            raise TypeError("Accelerator(step_scheduler_with_optimizer=False): not supported by accel; "
                            "the scheduler steps once per optimizer step")
        if mixed_precision is not None:
            code["mixed_precision"] = _text(mixed_precision)
        if gradient_accumulation_steps is not None:
            code["gradient_accumulation_steps"] = _text(gradient_accumulation_steps)
        if cpu is not None:
            code["cpu"] = _text(cpu)
        if log_with is not None:
            names = log_with if isinstance(log_with, (list, tuple)) else [log_with]
            for n in names:
                if not isinstance(getattr(n, "value", n), str):
                    raise TypeError(f"log_with: {n!r} is not a tracker name (tensorboard, wandb, mlflow, jsonl, all)")
            code["log_with"] = _text([_text(n).lower() for n in names])
        if project_config is not None:
            project_dir = project_dir or getattr(project_config, "project_dir", None)
            if getattr(project_config, "logging_dir", None):
                code["logging_dir"] = str(project_config.logging_dir)
            if getattr(project_config, "total_limit", None):
                code["checkpoint_keep"] = _text(project_config.total_limit)
        if project_dir is not None:
            code["project_dir"] = str(project_dir)
            code.setdefault("logging_dir", str(project_dir))  # Accelerate: logging_dir defaults to project_dir
        for handler in kwargs_handlers or []:
            self._take_handler(handler, code)
        if dynamo_backend is not None:
            code["dynamo_backend"] = _text(dynamo_backend).lower()
        if dynamo_plugin is not None:
            backend = getattr(dynamo_plugin, "backend", None)
            if backend is not None:
                code["dynamo_backend"] = _text(backend).lower()
            for field, key in (("mode", "dynamo_mode"), ("fullgraph", "dynamo_fullgraph"), ("dynamic", "dynamo_dynamic")):
                value = getattr(dynamo_plugin, field, None)
                if value is not None:
                    code[key] = _text(value)
        for key, value in settings.items():
            code[key] = _text(value)  # an unknown key is a ConfigError naming it
        self._core = _core.Core(code, str(config_file or ""))
        self._config = self._core.config()
        self.device_placement = device_placement
        self.device = torch.device(self._core.device)
        self.process_index = self._core.process_index
        self.local_process_index = self._core.local_process_index
        self.num_processes = self._core.num_processes
        self.is_main_process = self.process_index == 0
        self.is_local_main_process = self.local_process_index == 0
        self.mixed_precision = self._value("mixed_precision")
        self.gradient_accumulation_steps = int(self._value("gradient_accumulation_steps"))
        self.project_dir = self._value("project_dir")
        self.logging_dir = self._value("logging_dir")
        self.log_with = [n for n in self._value("log_with").split(",") if n]
        self._seed = int(self._value("seed"))
        # libaccel seeded torch with the seed key; Python's own generators get it too, so that a
        # Python program is as reproducible as a C++ one (and its resume restores them).
        random.seed(self._seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(self._seed)
        self._speaks = self.is_local_main_process if self._value("print_scope") == "node" else self.is_main_process
        if self.num_processes > 1:
            self.distributed_type = DistributedType.MULTI_GPU if self.device.type == "cuda" else DistributedType.MULTI_CPU
        else:
            self.distributed_type = DistributedType.NO
        self._model = None  # the trained module, as given to prepare
        self._optimizer = None
        self._scheduler = None
        self._scheduler_in_core = False
        self._prepared = False
        self._micro_open = False
        self._stepped_in_micro = False
        self._step_pending_for_scheduler = False
        self._step_skipped = False
        self._custom = 0
        self._ended = False
        _accelerators.add(self)

    @staticmethod
    def _take_handler(handler, code):
        kwargs = handler.to_kwargs() if hasattr(handler, "to_kwargs") else dict(vars(handler))
        kind = type(handler).__name__
        if kind == "InitProcessGroupKwargs":
            if kwargs.get("backend") is not None:
                code["backend"] = _text(kwargs.pop("backend"))
            if kwargs.get("timeout") is not None:
                code["pg_timeout_seconds"] = _text(kwargs.pop("timeout"))
        elif kind == "DistributedDataParallelKwargs":
            for field in ("bucket_cap_mb", "find_unused_parameters", "gradient_as_bucket_view", "static_graph"):
                if field in kwargs:
                    code["ddp_" + field] = _text(kwargs.pop(field))
        elif kind not in ("GradScalerKwargs", "AutocastKwargs"):
            warnings.warn(f"{kind} is not honoured by accel", stacklevel=3)
            return
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if kwargs:
            warnings.warn(f"{kind}({', '.join(kwargs)}) not honoured by accel (python/README.md)", stacklevel=3)

    def _value(self, key):
        return self._config[key][0]

    # --- configuration ------------------------------------------------------------------------
    @property
    def config(self):
        """Every key's (value, source), e.g. config["mixed_precision"] == ("bf16", "code (...)")."""
        return dict(self._config)

    def explain(self):
        """The table `accel config explain` prints: key | value | source."""
        return self._core.explain()

    @property
    def sync_gradients(self):
        return self._core.sync_gradients

    @property
    def use_distributed(self):
        return self.num_processes > 1

    @property
    def completed_steps(self):
        """Optimizer steps so far, restored on resume."""
        return self._core.completed_steps

    @property
    def optimizer_step_was_skipped(self):
        return self._step_skipped

    @property
    def metrics_port(self):
        return self._core.metrics_port

    @property
    def trackers(self):
        return list(self.log_with)

    # --- preparing ----------------------------------------------------------------------------
    def prepare(self, *args, device_placement=None):
        """Models, optimizers, DataLoaders and LR schedulers, in any order; returns them in the
        same order. The trained model (the one with trainable parameters) and its optimizer are
        handed to libaccel: parameters broadcast from rank 0, DDP attached, and training resumed
        from the newest complete checkpoint in checkpoint_dir."""
        place = self.device_placement if device_placement is None else device_placement
        out = []
        for obj in args:
            if isinstance(obj, torch.nn.Module):
                out.append(self._prepare_model(obj, place))
            elif isinstance(obj, torch.optim.Optimizer):
                if self._optimizer is not None and obj is not self._optimizer:
                    raise NotImplementedError("accel trains one model with one optimizer")
                self._optimizer = obj
                out.append(AcceleratedOptimizer(self, obj))
            elif isinstance(obj, torch.utils.data.DataLoader):
                out.append(PreparedDataLoader(self, obj, place))
            elif _is_scheduler(obj):
                self._scheduler = obj
                out.append(AcceleratedScheduler(self, obj))
            else:
                out.append(obj)
        if not self._prepared and self._model is not None and self._optimizer is not None:
            self._prepare_core()
        return out[0] if len(out) == 1 else tuple(out)

    def _prepare_model(self, model, place):
        if place:
            model.to(self.device)
        if not any(p.requires_grad for p in model.parameters()):
            return model  # frozen (a text encoder, a VAE): on the device, nothing to synchronise
        if self._model is not None and model is not self._model:
            raise NotImplementedError("accel trains one model with trainable parameters per Accelerator")
        self._model = model
        if self.mixed_precision != "no":
            self._autocast_forward(model)
        backend = self._value("dynamo_backend")
        if backend != "no":
            compiled = torch.compile(model, backend=backend, mode=_none_if(self._value("dynamo_mode"), "default"),
                                     fullgraph=self._value("dynamo_fullgraph") == "true",
                                     dynamic=self._value("dynamo_dynamic") == "true" or None)
            self._compiled = compiled
            return compiled
        return model

    def _autocast_forward(self, model):
        """As Accelerate: the prepared model's forward runs under autocast, outputs in float32."""
        forward = model.forward
        device_type = self.device.type
        dtype = torch.bfloat16 if self.mixed_precision == "bf16" else torch.float16

        def autocast_forward(*a, **k):
            with torch.autocast(device_type=device_type, dtype=dtype):
                return _to_fp32(forward(*a, **k))

        autocast_forward._accel_original = forward
        model.forward = autocast_forward

    def _prepare_core(self):
        model, opt, sched = self._model, self._optimizer, self._scheduler
        self._register("python.rng", _python_rng_state, _set_python_rng_state)
        step = None
        if sched is not None:
            self._register("python.scheduler", lambda: _dumps(sched.state_dict()),
                           lambda b: sched.load_state_dict(_loads(b)))

            def step():
                with warnings.catch_warnings():  # a resume replays steps before optimizer.step()
                    warnings.simplefilter("ignore", UserWarning)
                    sched.step()

            self._scheduler_in_core = True
        calls = _core.OptimizerCalls(
            step=opt.step, state=lambda: _dumps(opt.state_dict()),
            load=lambda b: opt.load_state_dict(_loads(b)), lr=lambda: float(opt.param_groups[0]["lr"]))
        self._core.prepare(list(model.named_parameters()), list(model.named_buffers()),
                           [p for g in opt.param_groups for p in g["params"]], calls, step)
        self._prepared = True

    def _register(self, name, save, load):
        self._core.register_for_checkpointing(name, save, load)

    def register_for_checkpointing(self, *objects):
        """Objects with state_dict()/load_state_dict() saved with every checkpoint (by the main
        process) and restored on resume. Call before prepare to have them restored by it."""
        for obj in objects:
            if not (hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict")):
                raise ValueError(f"{obj!r} has no state_dict()/load_state_dict()")
            self._register(f"python.custom_{self._custom}", lambda o=obj: _dumps(o.state_dict()),
                           lambda b, o=obj: o.load_state_dict(_loads(b)))
            self._custom += 1

    def _require_prepared(self, what):
        if not self._prepared:
            raise RuntimeError(f"Accelerator.{what}: call prepare(model, optimizer, ...) first")

    def unwrap_model(self, model, keep_fp32_wrapper=True):
        model = getattr(model, "_orig_mod", model)
        if not keep_fp32_wrapper and hasattr(model.forward, "_accel_original"):
            model.forward = model.forward._accel_original
        return model

    # --- the training step --------------------------------------------------------------------
    @contextlib.contextmanager
    def accumulate(self, *models):
        """One micro-batch: autocast on; gradients all-reduced only on the window's last one (the
        window is short at the end of a prepared loader's epoch)."""
        self._require_prepared("accumulate")
        scope = self._core.accumulate()
        scope.__enter__()
        self._micro_open, self._stepped_in_micro = True, False
        try:
            yield
        finally:
            self._micro_open = False
            scope.__exit__(None, None, None)

    @contextlib.contextmanager
    def no_sync(self, model=None):
        raise NotImplementedError("accel: use accumulate(); its windows decide when gradients synchronise")

    def autocast(self, autocast_handler=None):
        return self._core.autocast()

    def backward(self, loss, **kwargs):
        """loss / (micro-batches in this window), scaled under fp16, then backward with the
        all-reduce overlapped on synchronising micro-batches. Outside accumulate(), the backward
        is one micro-batch of its own."""
        self._require_prepared("backward")
        if kwargs:
            warnings.warn(f"backward({', '.join(kwargs)}) not honoured by accel", stacklevel=2)
        if self._micro_open:
            self._core.backward(loss)
            return
        with self.accumulate():
            self._core.backward(loss)

    def clip_grad_norm_(self, parameters, max_norm, norm_type=2):
        """On a synchronising micro-batch: unscales (fp16), clips and returns the total norm (a
        tensor); on any other it does nothing and returns None (local gradients must not be
        clipped before they are all-reduced)."""
        self._require_prepared("clip_grad_norm_")
        params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
        trained = {id(p) for p in self._model.parameters() if p.requires_grad}
        if {id(p) for p in params} <= trained and len({id(p) for p in params}) == len(trained):
            norm = self._core.clip_grad_norm(float(max_norm), float(norm_type))
            return None if norm is None else torch.tensor(norm)
        if not self.sync_gradients:
            return None
        if self.mixed_precision == "fp16":
            raise NotImplementedError("clip_grad_norm_ of a subset of the model's parameters under fp16")
        return torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)

    def clip_grad_value_(self, parameters, clip_value):
        if not self.sync_gradients:
            return
        if self.mixed_precision == "fp16":
            raise NotImplementedError("clip_grad_value_ under fp16")
        torch.nn.utils.clip_grad_value_(parameters, clip_value)

    def _optimizer_step(self):
        if not self._core.sync_gradients:
            return
        stepped = self._core.step()  # optimizer (+ scheduler) step, zero_grad, checkpoint, metrics
        self._step_skipped = not stepped
        self._stepped_in_micro = True
        self._step_pending_for_scheduler = stepped

    def set_batch_shape(self, samples_per_micro_batch, tokens_per_micro_batch=0):
        """For samples/s and tokens/s in /metrics and /progress (a prepared DataLoader sets the
        samples from its batch size)."""
        self._core.set_batch_shape(int(samples_per_micro_batch), int(tokens_per_micro_batch))

    def set_total_steps(self, total_steps):
        """The planned optimizer steps, for the ETA in /progress."""
        self._core.set_total_steps(int(total_steps))

    def evaluating(self):
        """For evaluation or sampling: the stall watchdog pauses, /progress says "evaluating"."""
        return self._core.evaluating()

    # --- collectives and printing -------------------------------------------------------------
    def wait_for_everyone(self):
        self._core.wait_for_everyone()

    def gather(self, tensor):
        """Concatenated along dim 0 over ranks (nested lists, tuples and dicts too)."""
        return _recurse(tensor, lambda t: self._core.gather(t if t.dim() else t.reshape(1)))

    def gather_for_metrics(self, data, use_gather_object=False):
        return self.gather(data)

    def reduce(self, tensor, reduction="sum", scale=1.0):
        def one(t):
            r = self._core.reduce(t, reduction)
            return r * scale if scale != 1.0 else r
        return _recurse(tensor, one)

    @contextlib.contextmanager
    def main_process_first(self):
        if not self.is_main_process:
            self.wait_for_everyone()
        yield
        if self.is_main_process:
            self.wait_for_everyone()

    @contextlib.contextmanager
    def local_main_process_first(self):
        with self.main_process_first():
            yield

    def print(self, *args, **kwargs):
        """print() on the main process (print_scope global) or each node's first (node)."""
        if self._speaks:
            print(*args, **kwargs, flush=True)

    # --- trackers -----------------------------------------------------------------------------
    def init_trackers(self, project_name, config=None, init_kwargs=None):
        hp = {str(k): _hparam(v) for k, v in (config or {}).items()
              if isinstance(v, (bool, int, float, str)) or hasattr(v, "value")}
        self._core.init_trackers(str(project_name), hp)

    def log(self, values, step=None, log_kwargs=None):
        """Numbers (and one-element tensors) to every tracker; the main process writes."""
        numbers = {}
        for k, v in values.items():
            if isinstance(v, torch.Tensor):
                v = v.detach().float().item()
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                numbers[str(k)] = float(v)
        self._core.log(numbers, None if step is None else int(step))

    def end_training(self):
        self._end(success=True)

    def _end(self, success):
        if self._ended:
            return
        self._ended = True
        self._core.end_training(success)

    # --- checkpoints --------------------------------------------------------------------------
    def save_state(self, output_dir=None, **kwargs):
        """Every rank calls it. Writes checkpoint_dir/checkpoint_<step> atomically (model,
        optimizer, scheduler, scaler, RNG of every rank, counters, data position) and keeps the
        newest checkpoint_keep; with output_dir, the main process also copies it there. Returns
        the checkpoint's path."""
        self._require_prepared("save_state")
        path = self._core.save_state()
        if output_dir and os.path.abspath(output_dir) != os.path.abspath(path):
            self.wait_for_everyone()
            if self.is_main_process:
                tmp = str(output_dir).rstrip("/") + ".tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(path, tmp)
                shutil.rmtree(output_dir, ignore_errors=True)
                os.replace(tmp, output_dir)
            self.wait_for_everyone()
        return path

    def load_state(self, input_dir=None, **kwargs):
        """Loads input_dir, or the newest complete checkpoint. prepare() already resumed from the
        newest one when there is one. Returns False when there is none."""
        self._require_prepared("load_state")
        return self._core.load_state(str(input_dir or ""))

    def save(self, obj, f, safe_serialization=False):
        if self.is_main_process:
            torch.save(obj, f)

    def free_memory(self, *objects):
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return objects

    clear = free_memory


class AcceleratedOptimizer:
    """What prepare returns for the optimizer: step() is Accelerator's step on a window's last
    micro-batch (optimizer and scheduler step, zero_grad, counters, periodic checkpoint,
    metrics, watchdog) and nothing on the others; zero_grad() acts only where Accelerate's does."""

    def __init__(self, accelerator, optimizer):
        self.accelerator = accelerator
        self.optimizer = optimizer

    def step(self, closure=None):
        if closure is not None:
            raise NotImplementedError("optimizer.step(closure) under accel")
        self.accelerator._optimizer_step()

    def zero_grad(self, set_to_none=None):
        acc = self.accelerator
        if acc._stepped_in_micro or not acc.sync_gradients:
            return  # already zeroed by the step, or accumulating
        self.optimizer.zero_grad(set_to_none=True if set_to_none is None else set_to_none)

    @property
    def step_was_skipped(self):
        return self.accelerator._step_skipped

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def state(self):
        return self.optimizer.state

    def __getattr__(self, name):  # state_dict, load_state_dict, add_param_group, ...
        return getattr(self.optimizer, name)


class AcceleratedScheduler:
    """What prepare returns for an LR scheduler prepared with the model and optimizer: libaccel
    steps it once per real optimizer step (not once per process, unlike Accelerate), so step()
    here does nothing. One prepared later steps here, after a real optimizer step."""

    def __init__(self, accelerator, scheduler):
        self.accelerator = accelerator
        self.scheduler = scheduler

    def step(self, *args, **kwargs):
        acc = self.accelerator
        if acc._scheduler_in_core and acc._scheduler is self.scheduler:
            return
        if acc._step_pending_for_scheduler:
            acc._step_pending_for_scheduler = False
            self.scheduler.step(*args, **kwargs)

    def __getattr__(self, name):  # get_last_lr, state_dict, load_state_dict, ...
        return getattr(self.scheduler, name)


def _is_scheduler(obj):
    base = getattr(torch.optim.lr_scheduler, "LRScheduler", None) or torch.optim.lr_scheduler._LRScheduler
    return isinstance(obj, base) or (hasattr(obj, "step") and hasattr(obj, "optimizer") and
                                     isinstance(getattr(obj, "optimizer"), torch.optim.Optimizer))


def _none_if(value, default):
    return None if value == default else value


def _to_fp32(out):
    if isinstance(out, torch.Tensor):
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
    if isinstance(out, dict):
        return type(out)({k: _to_fp32(v) for k, v in out.items()})
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return type(out)(*(_to_fp32(v) for v in out))
    if isinstance(out, (list, tuple)):
        return type(out)(_to_fp32(v) for v in out)
    return out


def _recurse(data, f):
    if isinstance(data, torch.Tensor):
        return f(data)
    if isinstance(data, dict):
        return type(data)({k: _recurse(v, f) for k, v in data.items()})
    if isinstance(data, (list, tuple)):
        return type(data)(_recurse(v, f) for v in data)
    raise TypeError(f"expected tensors (or lists, tuples, dicts of them), not {type(data).__name__}")


def _python_rng_state():
    """random's (and numpy's, when imported) generator state as JSON: a checkpoint holds no
    pickle, so loading one runs no code."""
    version, internal, gauss = random.getstate()
    state = {"random": [version, list(internal), gauss]}
    np = sys.modules.get("numpy")
    if np is not None:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state["numpy"] = [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]
    return json.dumps(state).encode()


def _set_python_rng_state(blob):
    state = json.loads(blob)
    version, internal, gauss = state["random"]
    random.setstate((version, tuple(internal), gauss))
    np = sys.modules.get("numpy")
    if np is not None and "numpy" in state:
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
