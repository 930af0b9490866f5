"""scripts/bench's one table (benchmarks/table.py): every module's figures, and a broken module as one failed row, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import table

GOOD = '''
from __future__ import annotations
from dataclasses import dataclass
from benchmarks.table import Row

@dataclass(frozen=True)
class Probe:  # a dataclass in a module loaded by path: built only if the module is in sys.modules
    seconds: float

def rows():
    return [Row("probe", Probe(0.5).seconds, "s", "reference", 2.0)]
'''
FOREIGN = '''
def rows():
    return [("not", "a", "Row")]
'''
BROKEN = '''
import no_such_module_anywhere
'''
EXITS = '''
def rows():
    raise SystemExit("clip.mp4: no such video; pass --video FILE")
'''


def test_every_module_s_rows_land_in_one_table_and_a_broken_one_is_a_failed_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for name, text in (("bench_good", GOOD), ("bench_foreign", FOREIGN), ("bench_broken", BROKEN), ("bench_exits", EXITS)):
        paths.append(tmp_path / f"{name}.py")
        paths[-1].write_text(text)
    assert table.main([str(p) for p in paths]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith(("good", "foreign", "broken", "exits"))}
    assert "probe" in lines["good"] and "4.00x" in lines["good"]  # 2.0 s reference / 0.5 s: four times faster
    assert "failed" in lines["foreign"] and "rows() returned tuple, not benchmarks.table.Row" in lines["foreign"]
    assert "failed" in lines["broken"] and "No module named 'no_such_module_anywhere'" in lines["broken"]
    assert "failed" in lines["exits"] and "SystemExit: clip.mp4: no such video" in lines["exits"]


def test_the_real_benchmarks_all_import() -> None:
    """Loading is cheap (each benchmark imports its heavy parts inside ``rows``); a module that cannot load loses its rows."""
    for path in sorted(Path(table.HERE).glob("bench_*.py")):
        table.load(path)


def test_run_as_scripts_bench_runs_it_a_modules_rows_are_taken(tmp_path: Path) -> None:
    """scripts/bench runs the file (``python benchmarks/table.py``): every module's rows were refused as
    "rows() returned Row, not benchmarks.table.Row", since the file ran as ``__main__``, another module object."""
    import subprocess
    import sys

    good = tmp_path / "bench_good.py"
    good.write_text(GOOD, encoding="utf-8")
    root = Path(table.HERE).parent
    done = subprocess.run([sys.executable, str(Path(table.HERE) / "table.py"), str(good)], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("good"))
    assert "probe" in line and "4.00x" in line and "failed" not in line, done.stdout
