"""The package's exception and warning classes, in one hierarchy.

Every error the package raises on purpose derives from :class:`CrowdDisagreementError`,
so that a caller (the CLI, a notebook) can catch them all and show their one-line
message instead of a traceback:

* :class:`DataError` -- a data file is missing or fails its SHA-256 check;
* :class:`AnnotationFormatError` -- a raw ENHANCE table is malformed (the message names
  file, line and column);
* :class:`DatasetError` -- a user's data set cannot be analysed (the message names the
  file, the rows or values, and what to do);
* :class:`OutputError` -- an output folder cannot receive a result;
* :class:`ProfileNotDetermined` -- a profile-likelihood bound cannot be placed (caught
  inside :mod:`analysis.statistics.coefficients`, where the bound becomes NaN).

Every warning derives from :class:`CrowdDisagreementWarning`:

* :class:`DatasetWarning` -- the analysis goes on, but something was left out;
* :class:`CacheWarning` -- a cache entry was unusable and is recomputed.

Each class also derives from the built-in class its callers have always caught
(``ValueError``, ``RuntimeError``, ``UserWarning``), so ``except ValueError`` keeps
working. The old import paths (``analysis.design.dataset.DatasetError`` and so on) are the
same objects, re-exported.

Messages name the library's parameters, never command-line flags: a parameter is
written between backticks, as ```min_raters``` or with a value ```raters='persons'```
(Markdown code in a notebook). Only the CLI translates them into its flags
(:func:`analysis.cli.error_message`: ``--min-raters``, ``--raters persons``).
"""

from __future__ import annotations

import re

__all__ = [
    "PARAMETER",
    "AnnotationFormatError",
    "CacheWarning",
    "CrowdDisagreementError",
    "CrowdDisagreementWarning",
    "DataError",
    "DatasetError",
    "DatasetWarning",
    "OutputError",
    "ProfileNotDetermined",
]

#: Rows and values quoted in a :class:`DatasetError` message.
SHOW = 8


class CrowdDisagreementError(Exception):
    """Base class of the errors this package raises on purpose."""


class CrowdDisagreementWarning(UserWarning):
    """Base class of the warnings this package issues."""


class DataError(CrowdDisagreementError, RuntimeError):
    """A data file is unavailable or fails its SHA-256 check."""


class AnnotationFormatError(CrowdDisagreementError, ValueError):
    """A raw annotation file does not have the expected structure.

    The message names the file, the line number and the column header.
    """


class DatasetError(CrowdDisagreementError, ValueError):
    """Input data that cannot be analysed: names the file, the rows or values, and what
    to do.

    Parameters
    ----------
    source : str
        The file (or data set) at fault.
    problem : str
        What is wrong.
    rows, values : iterable, optional
        Rows and values quoted (the first :data:`SHOW` of each).
    hint : str
        What to do.
    """

    def __init__(self, source: str, problem: str, *, rows=None, values=None, hint: str = ""):
        self.source, self.problem, self.hint = source, problem, hint
        self.rows = list(rows) if rows is not None else []
        self.values = list(values) if values is not None else []
        msg = f"{source}: {problem}"
        if self.rows:
            more = f" and {len(self.rows) - SHOW} more" if len(self.rows) > SHOW else ""
            msg += f" (rows {', '.join(map(str, self.rows[:SHOW]))}{more})"
        if self.values:
            msg += f"; values: {', '.join(repr(v) for v in self.values[:SHOW])}"
        if hint:
            msg += f". What to do: {hint}"
        super().__init__(msg)


class OutputError(CrowdDisagreementError, RuntimeError):
    """``--out`` cannot be used: a file, not writable, locked, or an existing result."""


class ProfileNotDetermined(CrowdDisagreementError, RuntimeError):
    """A constrained fit on the profile did not converge, so a bound cannot be placed."""


class DatasetWarning(CrowdDisagreementWarning):
    """The analysis goes on, but something was left out (and is listed)."""


class CacheWarning(CrowdDisagreementWarning):
    """A cache entry was unusable (corrupt, truncated, foreign) and is recomputed."""


#: A library parameter in a message: ```name``` or ```name='value'``` (the CLI shows it as a flag, ``make review`` as a Make variable).
PARAMETER = re.compile(r"`([A-Za-z_]\w*)(?:=(?:'([^'`]*)'|([^`]*)))?`")
