"""The presentation layer of the package: ``present``, ``prose``, ``claims``, ``figures``,
``report``, ``review_doc``, ``cache``, ``render``, ``outputs`` (see analysis/__init__.py)."""
