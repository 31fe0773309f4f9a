"""The loading layer of the package: ``data``, ``tidy`` (see analysis/__init__.py)."""
