"""Training progress as JSON lines: the Trainer tab and scripts read exactly this stream.

Every event is one JSON object per line with at least ``event`` and ``time``; training emits
``start``, ``epoch`` (epoch, step, losses, val_rho, val_rl2, eta_s, checkpoint), ``best``,
``early_stop``, ``test`` and ``done``; feature extraction emits ``features``. Lines go to stdout
(or any stream) and are appended to a log file; a tqdm bar on stderr serves terminal users and
stays off when stderr is not a TTY so logs and pipes stay clean.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm


class ProgressStream:
    def __init__(
        self, log_path: Path | None = None, stream: IO[str] | None = None, stdout: bool = True, bar: bool | None = None, enabled: bool = True
    ) -> None:
        """Lines go to ``stream``, else to the current ``sys.stdout`` unless ``stdout=False``.

        ``enabled=False`` (non-zero ranks under torchrun) swallows everything.
        """
        self.enabled = enabled
        self.stream = stream
        self.stdout = stdout
        self.log_path = log_path
        if log_path is not None and enabled:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        use_bar = sys.stderr.isatty() if bar is None else bar
        self._bar: tqdm | None = None
        self._want_bar = enabled and use_bar

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        if not self.enabled:
            return record
        line = json.dumps(record, default=_plain)
        target = self.stream or (sys.stdout if self.stdout else None)
        if target is not None:
            print(line, file=target, flush=True)
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return record

    def bar(self, total: int, desc: str, initial: int = 0) -> None:
        self.close_bar()
        if self._want_bar:
            self._bar = tqdm(total=total, desc=desc, initial=initial, file=sys.stderr, leave=False)

    def advance(self, n: int = 1, **postfix: Any) -> None:
        if self._bar is not None:
            self._bar.update(n)
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)

    def close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _plain(value: Any) -> Any:
    """numpy/torch scalars and paths in events become plain JSON values."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_events(path: Path) -> list[dict[str, Any]]:
    """Parse a progress log back (the Trainer tab, tests)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
