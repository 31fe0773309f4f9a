"""The presentation layer of the package: ``present``, ``prose``, ``figures``, ``report``, ``review_doc``, ``cache``, ``render``, ``outputs``, ``cli`` (see analysis/__init__.py)."""
