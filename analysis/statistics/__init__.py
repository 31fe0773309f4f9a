"""The statistics layer of the package: ``inference``, ``cvstats``, ``cvinference``, ``metacov``, ``agreement``, ``coefficients``, ``calibration`` (see analysis/__init__.py)."""
