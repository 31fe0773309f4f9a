"""The fitting layer of the package: ``engine``, ``models`` (see analysis/__init__.py)."""
