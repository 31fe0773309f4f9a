from pathlib import Path

import pytest
from conftest import mirror, needs_data

from analysis.loading import data


def test_registry_lists_every_file_the_parser_and_figures_read():
    from analysis.loading import tidy
    from analysis.presentation import figures

    reg = data.registry()
    needed = set(tidy.ANNOTATION_FILES) | {f"external/{i}.jpg" for i in figures.FIGURE1_IMAGES}
    assert needed <= set(reg), sorted(needed - set(reg))
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in reg.values())


@needs_data
def test_registry_hashes_equal_the_mirror_checksums():
    sums = {}
    if not (mirror() / "SHA256SUMS").is_file():
        pytest.skip("the data were downloaded: no mirror checksum file to compare with")
    for line in (mirror() / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        sums[rel] = digest
    for rel, digest in data.registry().items():
        assert sums[rel] == digest, rel


@needs_data
def test_fetch_from_local_copy_is_verified():
    path = data.fetch("student/2017-2018/group07.csv")
    assert path.is_file()
    assert data.sha256(path) == data.registry()["student/2017-2018/group07.csv"]


def _local_copy(tmp_path: Path, rel: str, content: bytes) -> Path:
    target = tmp_path / "0_data" / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target


@needs_data
def test_tampered_local_file_is_an_error_not_reused(tmp_path, monkeypatch):
    rel = "student/2017-2018/group07.csv"
    original = (mirror() / "0_data" / rel).read_bytes()
    _local_copy(tmp_path, rel, original[:-10])  # truncated
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    with pytest.raises(data.DataError) as err:
        data.fetch(rel)
    msg = str(err.value)
    assert rel in msg and "SHA-256" in msg and data.DATA_ENV in msg and data.url(rel) in msg
    # once restored, the same path verifies (the check is not cached on the path alone)
    _local_copy(tmp_path, rel, original)
    assert data.fetch(rel).read_bytes() == original


def test_missing_local_file_names_file_url_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    rel = "crowd/color.csv"
    with pytest.raises(data.DataError) as err:
        data.fetch(rel)
    msg = str(err.value)
    assert rel in msg and data.url(rel) in msg and data.DATA_ENV in msg


def _offline(url, output_file, pooch_obj):
    raise ConnectionError("Name or service not known")


def test_no_network_and_no_local_copy_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    rel = "student/2018-2019/group01.csv"
    with pytest.raises(data.DataError) as err:
        data.fetch(rel, downloader=_offline)
    msg = str(err.value)
    assert rel in msg and data.url(rel) in msg and data.DATA_ENV in msg


@needs_data
def test_cached_download_with_wrong_hash_is_fetched_again(tmp_path, monkeypatch):
    """A corrupted file in the download cache is downloaded again, never trusted."""
    rel = "crowd/asymmetry.csv"
    good = (mirror() / "0_data" / rel).read_bytes()
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(data.CACHE_ENV, str(cache))
    (cache / "crowd").mkdir(parents=True)
    (cache / rel).write_bytes(b"not the data\n")
    calls = []

    def serve_mirror(url, output_file, pooch_obj):
        calls.append(url)
        Path(output_file).write_bytes(good)

    path = data.fetch(rel, downloader=serve_mirror)
    assert calls == [data.url(rel)]
    assert path.read_bytes() == good


def test_download_with_wrong_content_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    rel = "crowd/border.csv"

    def serve_garbage(url, output_file, pooch_obj):
        Path(output_file).write_bytes(b"tampered\n")

    with pytest.raises(data.DataError, match="SHA-256") as err:
        data.fetch(rel, downloader=serve_garbage)
    assert rel in str(err.value)


def test_unregistered_file_is_refused():
    with pytest.raises(data.DataError, match="not in the data registry"):
        data.fetch("student/2017-2018/group99.csv")
