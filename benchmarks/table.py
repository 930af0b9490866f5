"""``scripts/bench``: run every benchmark module and print ONE table of figures against references.

A benchmark joins the table by defining, in ``benchmarks/bench_<name>.py``::

    def rows() -> list[Row]: ...

where each ``Row`` is one figure with the reference it is compared with, measured in the same run
(so a machine busy with other work slows both and the ratio stays meaningful). No list of
modules is kept here: every ``bench_*.py`` with a ``rows`` function is picked up. Modules that
only print their own report (no ``rows``) are named under the table with the command that runs
them; ``--legacy`` runs them after it.

    scripts/bench                                  # every table module
    scripts/bench benchmarks/bench_runtime.py      # just these
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Row:
    """One figure. ``ratio`` is how many times better than the reference (>1: better), whichever way is better."""

    figure: str
    value: float | None  # None: not measured here (then ``note`` says why)
    unit: str
    reference: str = ""  # what it is compared with, measured in the same run
    reference_value: float | None = None
    lower_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.reference_value is None or not self.value or not self.reference_value:
            return None
        return self.reference_value / self.value if self.lower_is_better else self.value / self.reference_value


def best_seconds(run: Callable[[], object], repeats: int, warm_up: bool = True, sync: Callable[[], object] | None = None) -> float:
    """Best wall time of ``repeats`` runs (the least disturbed by other load), after one warm-up unless told not to.

    ``sync`` waits for queued work (``torch.cuda.synchronize``) before each clock read, so an
    asynchronous device is timed for what it did, not for what it was handed.
    """
    wait = sync or (lambda: None)
    if warm_up:
        run()
        wait()
    times = []
    for _ in range(repeats):
        wait()
        started = time.perf_counter()
        run()
        wait()
        times.append(time.perf_counter() - started)
    return min(times)


def _number(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    digits = 0 if abs(value) >= 100 else 2 if abs(value) >= 1 else 3
    return f"{value:.{digits}f} {unit}".strip()


def format_table(rows: list[tuple[str, Row]]) -> str:
    header = ("benchmark", "figure", "value", "reference (same run)", "ref. value", "ratio", "note")
    lines = [header]
    for source, row in rows:
        ratio = row.ratio
        lines.append((source, row.figure, _number(row.value, row.unit), row.reference, _number(row.reference_value, row.unit if row.reference else ""),
                      f"{ratio:.2f}x" if ratio is not None else "-", row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1])
        if index == 0:
            out.append("-" * (sum(widths) + 2 * len(widths) + len(header[-1])))
    return "\n".join(out)


def load(path: Path) -> ModuleType:
    """Import a benchmark file by its path, registered in ``sys.modules`` as an import would be (a module's
    dataclasses look themselves up there while they are built)."""
    name = f"benchmarks_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def module_rows(module: ModuleType) -> list[Row]:
    """A module's figures; a row of another type is refused here, where the module is named, not in the table."""
    rows = list(module.rows())
    foreign = [type(row).__qualname__ for row in rows if not isinstance(row, Row)]
    if foreign:
        raise TypeError(f"rows() returned {foreign[0]}, not benchmarks.table.Row")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", type=Path, help="benchmark files (default: every benchmarks/bench_*.py)")
    parser.add_argument("--legacy", action="store_true", help="also run the modules that print their own report")
    args = parser.parse_args(argv)
    paths = args.modules or sorted(HERE.glob("bench_*.py"))
    collected: list[tuple[str, Row]] = []
    own_report: list[Path] = []
    started = time.perf_counter()
    for path in paths:
        try:
            module = load(path)
            if not hasattr(module, "rows"):
                own_report.append(path)
                continue
            print(f"[bench] {path.name} ...", file=sys.stderr, flush=True)
            collected += [(path.stem.removeprefix("bench_"), row) for row in module_rows(module)]
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - one broken benchmark (or one that exits: no input file) must not hide the others' figures
            traceback.print_exc(file=sys.stderr)
            collected.append((path.stem.removeprefix("bench_"), Row("failed", None, "", note=f"{type(exc).__name__}: {exc}")))
    print(format_table(collected))
    print(f"\n({time.perf_counter() - started:.0f} s; ratios > 1 are better than the reference measured in the same run)")
    if own_report:
        print("print their own report (not in the table): " + ", ".join(f"python benchmarks/{p.name}" for p in own_report))
    if args.legacy:
        for path in own_report:
            print(f"\n== {path.name}", flush=True)
            subprocess.run([sys.executable, str(path)], check=False)
    return 0


if __name__ == "__main__":
    # Run as a file this module is ``__main__``, while every benchmark's rows() imports
    # ``benchmarks.table.Row``: a class of another module object, which module_rows refused
    # ("rows() returned Row, not benchmarks.table.Row") for every benchmark. The package's copy runs.
    from benchmarks.table import main as package_main

    sys.exit(package_main())
