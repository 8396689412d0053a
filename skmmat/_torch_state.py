"""Context managers for torch's global state: the random seed and the thread count."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["kept_torch_threads", "seeded_torch", "torch_threads"]


@contextlib.contextmanager
def seeded_torch(seed, device):
    """Seed torch inside the block and restore the caller's RNG state afterwards.

    Parameters
    ----------
    seed : int
    device : str, torch.device or None
        A CUDA device's generator is forked and seeded too.
    """
    devices = []
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and torch.cuda.is_available():
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with ``n_threads`` torch intra-op threads, then restore.

    ``None`` leaves the setting alone. With torch's OpenMP backend the count
    is a per-thread setting, so concurrent fits in other threads of the same
    process are not affected.
    """
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    if previous == n_threads:
        yield
        return
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def kept_torch_threads():
    """Restore torch's intra-op thread count after the block.

    Libraries that share torch's OpenMP runtime (numba's OpenMP threading
    layer, used by pynndescent) set the process-wide OpenMP thread count;
    torch would then run with that count afterwards.
    """
    previous = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
