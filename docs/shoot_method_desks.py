"""Retake docs/desk_ud_aqa.png and docs/desk_mtl_aqa.png: what UD-AQA and MTL-AQA add to the judging desk.

    xvfb-run -a -s "-screen 0 1600x1400x24" .venv/bin/python docs/shoot_method_desks.py   (from the checkout root)

The bundles are built for the picture, not trained models: the desk tests' tiny bundles
(tests/test_app_methods.py: tiny backbone, MTL-AQA's recogniser fixed to see 5253B, its commentary
head fitted to one line), and UD-AQA's regressor output shifted so the sampled marks are not all 0.
Their numbers mean nothing; the shots show how the desk draws what each method's result carries.
Both score the same synthetic 407C from 10 m, in a fresh user folder (nothing of the real one is
read or changed).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
SIZE = (1440, 1250)  # the desk alone, taller than the main window's 936: each method's lines sit below the judges' plot
WIDTH = 1100  # the docs' shots are scaled to this width
SEEK_FRAME = 60  # mid-flight
UD_AQA_SHIFT = 0.38  # added to the regressor's output, which is a tenth of the mark: marks near 3 instead of all 0
COMMENTARY = "Inward 3½ somersaults, tuck. Clean entry with little splash; a well-executed dive."
WAIT_S = 300


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="aqa-docs-"))
    os.environ["AQA_JUDGE_HOME"] = str(root / "aqa-judge")  # from here on the app sees a fresh user folder
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import torch
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(root / "settings"))
    from test_app_methods import method_bundle  # the tests' tiny method bundles

    from app.state import AppState, DiveSheet
    from app.tabs.judging_desk import JudgingDesk
    from aqa_core.synthetic.dataset import write_video
    from aqa_core.synthetic.dive import generate_dive

    video = root / "synthetic_407C.mp4"
    write_video(video, generate_dive(seed=7, dive_number="407C", height=10.0))
    ud_aqa = method_bundle("ud_aqa")
    last_bias = max(k for k in ud_aqa.state_dict if k.startswith("regressor.") and k.endswith(".bias"))
    ud_aqa.state_dict[last_bias] = ud_aqa.state_dict[last_bias] + torch.tensor(UD_AQA_SHIFT)
    shots = {"desk_ud_aqa.png": ud_aqa, "desk_mtl_aqa.png": method_bundle("mtl_aqa", caption=COMMENTARY)}

    for name, bundle in shots.items():
        desk = JudgingDesk(AppState())
        desk.resize(*SIZE)
        desk.show()
        desk.commands.use_bundle(bundle)
        desk.commands.open_video(video, DiveSheet(dive_number="407C"))
        deadline = time.monotonic() + WAIT_S
        while desk.state.result is None or desk.state.analysing:
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up after {WAIT_S} s waiting for {name}'s result: {desk.status.text()}")
            app.processEvents()
            time.sleep(0.02)
        desk.player.seek(SEEK_FRAME)
        for _ in range(50):  # let the last layout and repaint land
            app.processEvents()
            time.sleep(0.02)
        image = desk.grab().toImage().scaledToWidth(WIDTH, Qt.TransformationMode.SmoothTransformation)
        if not image.save(str(DOCS / name)):
            raise SystemExit(f"cannot write {DOCS / name}")
        print(f"wrote {DOCS / name}: {desk.judges.final_label.text()}")
        desk.commands.shutdown()
        desk.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
