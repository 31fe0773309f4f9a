"""Progress display: a tqdm bar on a terminal, silence in a pipe or when asked."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress(iterable=None, *, total=None, desc=None, quiet: bool = False):
    """Wrap an iterable in a progress bar shown only on an interactive stderr."""
    disable = quiet or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False,
                file=sys.stderr, dynamic_ncols=True)
