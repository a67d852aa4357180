"""Pick the compute device from a user-facing name, and scope the CPU thread count."""

import contextlib
from typing import TYPE_CHECKING, Iterator

from core.errors import DeviceError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> "torch.device":
    """Return the torch device for ``name``.

    ``"auto"`` picks CUDA when present, else the CPU; ``"cuda"`` without CUDA raises :class:`DeviceError`.
    ``"cuda:N"`` selects a particular GPU.
    """
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name} was requested but CUDA is not available on this machine; use --device cpu")
        return torch.device(name)
    raise DeviceError(f"unknown device {name!r}: choose one of {', '.join(DEVICE_CHOICES)}")


@contextlib.contextmanager
def cpu_threads(device: "torch.device", threads: int) -> Iterator[None]:
    """Within the block, use ``threads`` intra-op threads when ``device`` is the CPU; restore the count after."""
    import torch

    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
