"""``python -m analysis.cli``."""

from analysis.cli import main

raise SystemExit(main())
