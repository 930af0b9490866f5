"""``aqa-judge final-score`` and ``aqa-judge dd`` through the real dispatcher."""

from __future__ import annotations

from cli.main import main
from aqa_core.rules import difficulty


def test_final_score_prints_points(capsys):
    assert main(["final-score", "--event", "individual", "--dd", "3.8", "9", "8.5", "9", "8", "9", "8.5", "9"]) == 0
    assert capsys.readouterr().out.strip() == "100.70"


def test_final_score_verbose_shows_kept_and_dropped(capsys):
    args = ["final-score", "--verbose", "--event", "synchronised", "--dd", "3.1"]
    assert main(args + "8 7.5 7.5 6.5 7 7 7 7 7 7 7.5".split()) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("kept:") and "E3=7.5" in lines[0] and "E1" not in lines[0]
    assert lines[1].startswith("dropped:") and "E1=8" in lines[1] and "S5=7.5" in lines[1]
    assert lines[-1] == "66.03"


def test_final_score_dd_from_dive_and_height(capsys):
    assert main(["final-score", "--dive", "107B", "--height", "10", "7", "7", "7", "7", "7"]) == 0
    assert float(capsys.readouterr().out) == round(21 * difficulty("107B", 10), 2)


def test_user_mistakes_are_one_line_exit_2(capsys):
    assert main(["final-score", "--dd", "3.8", "9", "8.5", "9", "8", "9", "8.3", "9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "J6" in err and "8.3" in err
    assert main(["final-score", "--dd", "2", "7", "7", "7", "7", "7", "7"]) == 2
    assert "not 6" in capsys.readouterr().err
    assert main(["dd", "7253B"]) == 2
    assert "group 7" in capsys.readouterr().err
    assert main(["dd", "5253B", "--height", "1"]) == 2
    assert "no DD for 5253B from 1 m" in capsys.readouterr().err


def test_dd_prints_description_and_dd(capsys):
    assert main(["dd", "5253B", "--height", "3"]) == 0
    out = capsys.readouterr().out
    assert "Back 2½ somersaults 1½ twists, pike" in out
    assert f"DD {difficulty('5253B', 3):.1f}" in out
    assert main(["dd", "109C"]) == 0
    out = capsys.readouterr().out
    assert "Forward 4½ somersaults, tuck" in out and "10 m" in out
