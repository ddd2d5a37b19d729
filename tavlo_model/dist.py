"""Process-group helpers: one process per GPU under ``torchrun`` (NCCL), gloo on CPU (tests), or no group at all."""

from __future__ import annotations

import logging
import os

import torch
import torch.distributed as dist

from tavlo_model.errors import TavloError

log = logging.getLogger(__name__)


def pick_device(pref: str = "auto") -> torch.device:
    """``auto`` -> this rank's GPU when CUDA is available, else the CPU."""
    if pref == "cpu" or (pref == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise TavloError(f"device {pref!r}: CUDA is not available on this machine")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))


def setup(device: torch.device) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in the environment; return (rank, world size)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        log.info("joined %s process group: rank %d of %d", backend, dist.get_rank(), world)
    return dist.get_rank(), dist.get_world_size()


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank (identity without a process group)."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_replicas_in_sync(model: torch.nn.Module) -> float:
    """Sum of all parameters, checked equal on every rank (DDP keeps replicas identical); returns the sum."""
    total = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum()
    if dist.is_initialized():
        lo, hi = total.clone().cpu(), total.clone().cpu()
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        if lo.item() != hi.item():
            raise RuntimeError(f"DDP replicas diverged: parameter sums range from {lo.item()} to {hi.item()}")
    return float(total)
