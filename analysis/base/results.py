"""The one protocol of a study's result.

Every study (the reproduction, the review, the replication, the annotator curve, the
multiverse, the simulation, the on-request sweeps, the review of any data set) returns a
frozen, keyword-only dataclass derived from :class:`StudyResult`: what made it
(``settings``: budgets, seed, options), how long it took (``elapsed``, wall seconds),
what the study recorded on the way (``notes``: fold-rule notes, exclusions, parts not
run), and its tables by CSV file name (:meth:`StudyResult.tables`). The command line
writes ``tables()`` and a manifest built from :meth:`StudyResult.manifest` by one helper
(:func:`analysis.presentation.outputs.write_result`), the same for every command.

Examples
--------
>>> from dataclasses import dataclass
>>> import pandas as pd
>>> @dataclass(frozen=True, kw_only=True, eq=False)
... class Toy(StudyResult):
...     frame: pd.DataFrame
...     def tables(self):
...         return {"toy.csv": self.frame}
>>> t = Toy(frame=pd.DataFrame({"x": [1]}), settings={"seed": 1}, elapsed=0.12345,
...         notes=("one fold rule note",))
>>> list(t.tables())
['toy.csv']
>>> t.manifest()
{'settings': {'seed': 1}, 'elapsed_seconds': 0.123, 'notes': ['one fold rule note']}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = ["StudyResult", "as_notes"]


def as_notes(notes) -> tuple[str, ...]:
    """``notes`` as the tuple of strings a result holds (None is no note).

    >>> as_notes(["a", "b"])
    ('a', 'b')
    >>> as_notes(None)
    ()
    """
    if notes is None:
        return ()
    if isinstance(notes, str):
        return (notes,)
    return tuple(str(n) for n in notes)


@dataclass(frozen=True, kw_only=True, eq=False)
class StudyResult:
    """Base of every study's result: frozen, keyword-only.

    Attributes
    ----------
    settings : dict
        The budget, seed and options that made the result (JSON-serialisable).
    elapsed : float
        Wall seconds the study took.
    notes : tuple of str
        What the study recorded: fold-rule notes, exclusions, parts not run.

    ``eq=False``: results hold DataFrames, whose ``==`` is element-wise, so results
    compare (and hash) by identity.
    """

    settings: dict = field(default_factory=dict)
    elapsed: float = 0.0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", as_notes(self.notes))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the result, by the CSV file name the command line writes."""
        raise NotImplementedError(f"{type(self).__name__} does not define tables()")

    def manifest(self) -> dict:
        """The protocol's part of a run manifest: ``settings``, ``elapsed_seconds``
        (rounded to the millisecond) and ``notes`` (a list)."""
        return {"settings": self.settings, "elapsed_seconds": round(float(self.elapsed), 3),
                "notes": list(self.notes)}
