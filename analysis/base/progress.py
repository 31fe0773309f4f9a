"""Progress display: a tqdm bar on a terminal, silence in a pipe or when asked; and the
stages of a run with their wall times (:func:`recording`, :func:`stage`)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm import tqdm

__all__ = [
    "Stages", "progress", "recording", "stage", "stage_quiet",
]



def progress(iterable=None, *, total=None, desc=None, quiet: bool = False):
    """Wrap an iterable in a progress bar shown only on an interactive stderr."""
    disable = quiet or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False,
                file=sys.stderr, dynamic_ncols=True)


class Stages:
    """Wall time of the named stages of one run, and a line on stderr as each starts and
    ends (unless quiet).

    Stages nest: a stage entered while another runs is recorded as ``outer / inner``.
    ``seconds`` keeps them in the order they started.
    """

    def __init__(self, prefix: str = "", quiet: bool = False):
        self.prefix = f"{prefix}: " if prefix else ""
        self.quiet = quiet
        self.seconds: dict[str, float] = {}
        self._open: list[str] = []

    @contextmanager
    def stage(self, name: str):
        """Time the block as stage ``name``; its line says when it starts and how long
        it took."""
        full = " / ".join([*self._open, name])
        self._open.append(name)
        if not self.quiet:
            print(f"{self.prefix}{full} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._open.pop()
            dt = time.perf_counter() - t0
            self.seconds[full] = self.seconds.get(full, 0.0) + dt
            if not self.quiet:
                print(f"{self.prefix}{full}: {dt:.1f} s", file=sys.stderr, flush=True)

    def rounded(self, digits: int = 3) -> dict[str, float]:
        """``seconds`` rounded, for a manifest."""
        return {k: round(v, digits) for k, v in self.seconds.items()}


_ACTIVE: ContextVar[Stages | None] = ContextVar("crowd_disagreement_stages", default=None)


@contextmanager
def recording(prefix: str = "", quiet: bool = False):
    """Make a :class:`Stages` the active one for the block (:func:`stage` records into it)."""
    rec = Stages(prefix, quiet)
    token = _ACTIVE.set(rec)
    try:
        yield rec
    finally:
        _ACTIVE.reset(token)


@contextmanager
def stage(name: str):
    """A stage of the active run (:func:`recording`); outside one, nothing is recorded or
    shown. Lets a function deep in a run (the fitted models) report its own time."""
    rec = _ACTIVE.get()
    if rec is None:
        yield
        return
    with rec.stage(name):
        yield


def stage_quiet() -> bool:
    """Whether a bar inside the active run's stage should stay hidden: the run's
    ``quiet``, and hidden outside a run."""
    rec = _ACTIVE.get()
    return True if rec is None else rec.quiet
