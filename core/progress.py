"""A progress bar over a fixed number of steps, without torch (the torch-free fast path shows one too)."""

import contextlib
from typing import Callable, Iterator


@contextlib.contextmanager
def steps_progress(total: int, desc: str, enabled: bool = True) -> Iterator[Callable[[int, dict], None]]:
    """Yield ``on_step(i, terms)``: advances a tqdm bar of ``total`` steps showing ``terms["total"]``; the bar is
    hidden when not ``enabled`` and removed when the block ends."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, disable=not enabled, dynamic_ncols=True, leave=False)

    def on_step(index: int, terms: dict) -> None:
        bar.update(1)
        if "total" in terms:
            bar.set_postfix(loss=f"{terms['total']:.4g}", refresh=False)

    try:
        yield on_step
    finally:
        bar.close()
