"""Shared fixtures. Real-data tests read the local mirror named by
CROWD_DISAGREEMENT_DATA (CI sets it to ../shared/data/enhance); when no mirror is
found they are skipped with the reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline (a loaded 2-core CI machine must not turn speed into a
# failure) and derandomized examples (a run is reproducible).
settings.register_profile("project", deadline=None, derandomize=True)
settings.load_profile("project")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
_DEFAULT_MIRROR = ROOT.parent / "shared" / "data" / "enhance"

if "CROWD_DISAGREEMENT_DATA" not in os.environ and (_DEFAULT_MIRROR / "0_data").is_dir():
    os.environ["CROWD_DISAGREEMENT_DATA"] = str(_DEFAULT_MIRROR)


def mirror() -> Path | None:
    env = os.environ.get("CROWD_DISAGREEMENT_DATA")
    if env and (Path(env) / "0_data").is_dir():
        return Path(env)
    return None


needs_data = pytest.mark.skipif(
    mirror() is None,
    reason="no local ENHANCE copy: set CROWD_DISAGREEMENT_DATA to a folder holding 0_data/",
)


@pytest.fixture(scope="session")
def annotations():
    if mirror() is None:
        pytest.skip("no local ENHANCE copy (CROWD_DISAGREEMENT_DATA)")
    from analysis import reproduce

    return reproduce.load_annotations()


@pytest.fixture(scope="session")
def group7(annotations):
    from analysis import reproduce

    return reproduce.load_group(annotations=annotations)
