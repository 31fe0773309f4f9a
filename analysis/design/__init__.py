"""The design layer of the package: ``features``, ``dataset`` (see analysis/__init__.py)."""
