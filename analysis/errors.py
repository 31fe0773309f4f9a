"""The package's error classes.

Every error the package raises on purpose about its inputs derives from
:class:`CrowdDisagreementError`, so that a caller (the CLI, a notebook) can catch
them all and show their one-line message instead of a traceback:

* :class:`analysis.data.DataError` -- a data file is missing or fails its SHA-256 check;
* :class:`analysis.tidy.AnnotationFormatError` -- a raw table is malformed (the
  message names file, line and column);
* :class:`analysis.outputs.OutputError` -- ``--out`` cannot receive a result.
"""

from __future__ import annotations


class CrowdDisagreementError(Exception):
    """Base class of the errors this package raises about its inputs."""
