"""The studies layer of the package: ``reproduce``, ``review``, ``replication``, ``multiverse``, ``simulate``, ``sweeps``, ``analyze`` (see analysis/__init__.py)."""
