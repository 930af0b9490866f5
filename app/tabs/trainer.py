"""The Trainer tab: a club retrains the model on its own dives, on its own GPU, without a terminal.

Everything slow or fragile happens in child processes of the app's own executable
(app/child_command.py): the dataset check, the device and method list, and the training itself
(app/training_run.py). The tab only reads their JSON, so it never blocks, never imports torch, and
a child that crashes is one message while the tab stays usable. What a person sees before starting
is exactly what ``aqa-judge dataset check`` says (with a histogram of its final scores); during a
run, the curves, the ETA, the GPU memory and the log. Devices are a checklist: the CUDA GPUs the
training child found (several: one DDP process each, app/training_run.py), or the CPU. A run the
app was closed on with "leave it running" is found again when the tab is made and followed on.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.child_command import JsonChild
from app.file_dialogs import choose_file, choose_folder
from app.storage.exporters import export_dataset
from app.training_config import Settings, build_config, load_preset, presets, save_config, settings_of
from app.training_run import LEFT_RUNNING, TrainingRun
from app.workers import Task, run_task
from aqa_core.paths import user_data_dir
from trainer.config import TrainConfig
from trainer.datasets.base import validation_count
from trainer.datasets.report import report_lines

NO_PRESET = "(the form's settings)"
HISTOGRAM_BINS = 20
FEW_TEST_DIVES = 30  # fewer, and a test rho about 0.9 has a 95% interval 0.15 wide or more (Fisher's z): said beside it
CLOSE_CHOICES = ("stop", "leave", "kill", "cancel")


def runs_root() -> Path:
    return user_data_dir() / "training_runs"


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA: estimating…"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA: {hours} h {minutes:02d} min" if hours else f"ETA: {minutes} min {secs:02d} s"


class EpochAxis(pg.AxisItem):
    """Epochs are whole numbers: ticks at 1, 2, 3 (never 1.5), however far the plot is zoomed."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802, N803 (pyqtgraph API)
        whole = [(spacing, [v for v in values if float(v).is_integer()]) for spacing, values in super().tickValues(minVal, maxVal, size)
                 if spacing >= 1]
        return whole or [(1.0, [float(v) for v in range(int(np.ceil(minVal)), int(np.floor(maxVal)) + 1)])]


def left_running(root: Path) -> list[Path]:
    """Run folders an earlier app was closed on with "leave it running", newest first."""
    if not root.is_dir():
        return []
    return sorted((marker.parent for marker in root.glob(f"*/{LEFT_RUNNING}")), key=lambda folder: folder.name, reverse=True)


class TrainerTab(QWidget):
    bundle_trained = Signal(str)  # a finished run's model bundle folder

    def __init__(self, root: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self.run: TrainingRun | None = None
        self.options: dict[str, Any] | None = None
        self.report: dict[str, Any] | None = None
        self._children: list[JsonChild] = []
        self._tasks: list[Task] = []
        self.db: Any = None
        self._presets = presets()
        self._base: dict[str, Any] | None = None
        self._checked = ""  # the dataset path last checked
        self._answer: tuple[tuple[str, bool], dict, int, str] | None = None  # the check's last answer, as it came
        self._test_text = ""
        self._test_dives = 0
        self._curves: dict[str, list[float]] = {"epoch": [], "train": [], "val": []}
        self._build()
        self.follow_left_run()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        """Ask what training can use when the tab is first seen: a child that imports torch costs seconds."""
        if self.options is None and not self._children:
            self.ask_options()
        super().showEvent(event)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        data_box = QGroupBox("Dataset")
        self.dataset_path = QLineEdit()
        self.dataset_path.setPlaceholderText("a dataset folder (annotations.csv, MTL-AQA, FineDiving) or a features .npz")
        self.dataset_path.editingFinished.connect(self._typed_dataset)
        pick_folder, pick_file = QPushButton("Folder…"), QPushButton("File…")
        pick_folder.clicked.connect(self._ask_folder)
        pick_file.clicked.connect(self._ask_file)
        self.from_database = QPushButton("Dives with human scores from this database")
        self.from_database.setToolTip("Exports the dives that have a real panel's scores and a video into the trainer's own layout")
        self.from_database.setEnabled(False)
        self.from_database.clicked.connect(self.use_database)
        row = QHBoxLayout()
        for widget in (self.dataset_path, pick_folder, pick_file):
            row.addWidget(widget)
        self.partial = QCheckBox("Leave out dives with missing frames or a damaged video")
        self.partial.setToolTip(
            "On: such dives are left out of the training and listed in the model's card. "
            "Off: they refuse the dataset, as an unfinished download or a broken file should (the training option partial)"
        )
        self.partial.toggled.connect(lambda _on: self.set_dataset(self.dataset_path.text()))
        self.check_text = QPlainTextEdit(readOnly=True)
        self.check_text.setPlaceholderText("Pick a dataset: its size, splits and every problem appear here before anything starts.")
        self.check_text.setMaximumHeight(130)
        self.histogram = pg.PlotWidget(background="w", title="Final scores of the usable dives")
        self.histogram.setLabel("bottom", "final score")
        self.histogram.setLabel("left", "dives")
        self.histogram.setMouseEnabled(False, False)
        self.histogram.setFixedHeight(150)
        self.histogram_bars: pg.BarGraphItem | None = None
        self.histogram.hide()  # until a dataset's check answers
        data_layout = QVBoxLayout(data_box)
        data_layout.addLayout(row)
        data_layout.addWidget(self.partial)
        data_layout.addWidget(self.from_database)
        data_layout.addWidget(self.check_text)
        data_layout.addWidget(self.histogram)

        settings_box = QGroupBox("Method and settings")
        form = QFormLayout(settings_box)
        self.preset = QComboBox()
        self.preset.addItems([NO_PRESET, *self._presets])
        self.preset.currentTextChanged.connect(self._use_preset)
        load = QPushButton("Load a config…")
        load.clicked.connect(self._ask_config)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset, 1)
        preset_row.addWidget(load)
        self.method, self.backbone, self.mode = QComboBox(), QComboBox(), QComboBox()
        for combo in (self.method, self.backbone, self.mode):  # filled by the training program's answer (seconds)
            combo.setPlaceholderText("asking the training program…")
        self.device = QListWidget()
        self.device.setToolTip("Tick one GPU, several (one training process each, DDP over NCCL), or the CPU")
        self.device.itemChanged.connect(self._device_ticked)
        self.device.setFixedHeight(self.device.fontMetrics().height() + 10)  # one row until the devices are known
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=100)
        self.batch = QSpinBox(minimum=1, maximum=4096, value=32)
        self.lr = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=1.0, singleStep=1e-4, value=1e-4)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.device_note = QLabel("asking the training program for its methods and GPUs (it starts in a few seconds)…")
        self.device_note.setWordWrap(True)
        form.addRow("Preset", preset_row)
        for label, widget in (("Method", self.method), ("Backbone", self.backbone), ("Mode", self.mode), ("Epochs", self.epochs),
                              ("Batch size", self.batch), ("Learning rate", self.lr), ("Seed", self.seed), ("Device", self.device)):
            form.addRow(label, widget)
        form.addRow("", self.device_note)

        self.start_button, self.stop_button = QPushButton("Start training"), QPushButton("Stop after this epoch")
        self.kill_button, self.resume_button = QPushButton("Kill"), QPushButton("Resume")
        self.log_button = QPushButton("Show the log", checkable=True)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.kill_button.clicked.connect(self.kill)
        self.resume_button.clicked.connect(self.resume)
        self.log_button.toggled.connect(self._show_log)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.kill_button, self.resume_button, self.log_button):
            buttons.addWidget(button)

        left = QVBoxLayout()
        left.addWidget(data_box)
        left.addWidget(settings_box)
        left.addLayout(buttons)
        left.addStretch(1)

        self.status = QLabel("No run yet.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("font-size: 14px; font-weight: bold")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m")
        self.eta = QLabel("")
        self.eta.setMinimumWidth(170)
        self.gpu_memory = QLabel("")
        self.gpu_memory.setToolTip("The training's peak GPU memory so far (PyTorch's max_memory_allocated, the first process's GPU)")
        self.loss_plot = pg.PlotWidget(background="w", title="Training loss", axisItems={"bottom": EpochAxis("bottom")})
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen((40, 110, 200), width=2), symbol="o", symbolSize=5)
        self.val_plot = pg.PlotWidget(background="w", title="Validation Spearman ρ", axisItems={"bottom": EpochAxis("bottom")})
        self.val_plot.setLabel("bottom", "epoch")
        self.val_curve = self.val_plot.plot([], [], pen=pg.mkPen((230, 140, 30), width=2), symbol="o", symbolSize=5)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_view.hide()
        right = QVBoxLayout()
        right.addWidget(self.status)
        right.addWidget(self.message)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.eta)
        progress_row.addWidget(self.gpu_memory)
        right.addLayout(progress_row)
        right.addWidget(self.loss_plot, 1)
        right.addWidget(self.val_plot, 1)
        right.addWidget(self.log_view, 1)

        layout = QHBoxLayout(self)
        self.settings_column = QWidget()
        self.settings_column.setLayout(left)
        # One width, about 80 characters of the user's font: sized by its contents, the column grew
        # and pushed the plots aside each time a check report or a device note arrived (seen under Xvfb).
        self.settings_column.setFixedWidth(self.settings_column.fontMetrics().horizontalAdvance("x") * 80)
        layout.addWidget(self.settings_column)
        layout.addLayout(right, 1)
        self._update_buttons()

    # --- options, dataset --------------------------------------------------------------------
    def _child(self, arguments: list[str], done) -> None:  # noqa: ANN001 (a callable)
        child = JsonChild(arguments, lambda *result: (self._children.remove(child), done(*result)), self)
        self._children.append(child)
        child.start()

    def ask_options(self) -> None:
        """Methods and backbones from the registries, and the devices, as the training child sees them."""
        self._child(["train-options", "--json"], self._got_options)

    def _got_options(self, options: dict | None, _code: int, err: str) -> None:
        if options is None:
            self.device_note.setText(f"Cannot ask what training can use: {err or 'no answer'}")
            return
        self.options = options
        # the registries' order is alphabetical; the preselected method and backbone are the ones with a shipped config
        for combo, items, default in ((self.method, options["methods"], "musdl"), (self.backbone, options["backbones"], "i3d"),
                                      (self.mode, options["modes"], None)):
            combo.clear()
            combo.addItems(items)
            combo.setCurrentIndex(items.index(default) if default in items else 0)  # a placeholder keeps -1 otherwise
        devices = options["devices"]
        self.device.blockSignals(True)
        self.device.clear()
        for gpu in devices["gpus"]:
            self._device_item(f"GPU {gpu['index']}: {gpu['name']} ({gpu['free_mib'] / 1024:.1f} of {gpu['total_mib'] / 1024:.1f} GiB free)",
                              f"cuda:{gpu['index']}")
        self._device_item("CPU", "cpu")
        self.device.blockSignals(False)
        rows = min(self.device.count(), 4)  # as tall as its choices (a scroll bar past four GPUs)
        self.device.setFixedHeight(rows * self.device.sizeHintForRow(0) + 2 * self.device.frameWidth() + 2)
        self.choose_devices(f"cuda:{devices['gpus'][0]['index']}" if devices["gpus"] else "cpu")
        self.device_note.setText(f"{len(devices['gpus'])} GPU(s) found; tick several to train on all of them" if devices["gpus"]
                                 else f"CPU only: {devices['cpu_reason']}")
        self._update_buttons()

    def _device_item(self, text: str, value: str) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, value)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        self.device.addItem(item)

    def device_values(self) -> list[str]:
        """Every choice the list offers ("cuda:N" for each GPU, then "cpu")."""
        return [self.device.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.device.count())]

    def chosen_devices(self) -> list[str]:
        return [value for i, value in enumerate(self.device_values()) if self.device.item(i).checkState() == Qt.CheckState.Checked]

    def choose_devices(self, *values: str) -> None:
        """Tick exactly these choices (what a person does with the checkboxes)."""
        self.device.blockSignals(True)
        for i, value in enumerate(self.device_values()):
            self.device.item(i).setCheckState(Qt.CheckState.Checked if value in values else Qt.CheckState.Unchecked)
        self.device.blockSignals(False)
        self._update_buttons()

    def _device_ticked(self, item: QListWidgetItem) -> None:
        """The CPU and GPUs exclude each other: ticking one kind unticks the other."""
        if item.checkState() == Qt.CheckState.Checked:
            cpu = item.data(Qt.ItemDataRole.UserRole) == "cpu"
            self.choose_devices(*[v for v in self.chosen_devices() if (v == "cpu") == cpu])
        self._update_buttons()

    def set_database(self, db: Any) -> None:
        """The sessions database whose scored dives can become a dataset."""
        self.db = db
        self.from_database.setEnabled(db is not None)

    def use_database(self) -> None:
        """Export this database's dives with human scores (on a worker), then check the export like any dataset."""
        if self.db is None:
            return
        db, out = self.db, (self.root or runs_root()) / f"database-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        self.report = None
        self._update_buttons()
        self.check_text.setPlainText(f"Exporting the dives with human scores from {db.path}…")

        def exported(count: int) -> None:
            self._tasks.remove(task)
            self.set_dataset(out)

        def failed(message: str) -> None:
            self._tasks.remove(task)
            self.check_text.setPlainText(f"Cannot make a dataset of this database:\n{message}")

        task = run_task(lambda: export_dataset(db, out), f"exporting {db.path}", exported, failed, engine=True)
        self._tasks.append(task)

    def _ask_folder(self) -> None:
        folder = choose_folder(self, "A dataset folder", "datasets")
        if folder:
            self.set_dataset(folder)

    def _ask_file(self) -> None:
        path = choose_file(self, "A dataset file", "datasets", "Datasets (*.npz *.csv);;All files (*)")
        if path:
            self.set_dataset(path)

    def _typed_dataset(self) -> None:
        """Enter or leaving the field (closing the app too) checks a path only when it changed."""
        if self.dataset_path.text().strip() != self._checked:
            self.set_dataset(self.dataset_path.text())

    def set_dataset(self, path: str | Path) -> None:
        """Check the dataset as training will (``dataset check --videos``: each video decoded once for
        damage, the answers kept for the training); Start waits for its answer."""
        path = self._checked = str(path).strip()
        self.dataset_path.setText(path)
        self.report, self._answer = None, None
        self.show_histogram([])
        self._update_buttons()
        if not path:
            return
        self.check_text.setPlainText(f"Checking {path} (each video or dive's frame images decoded once for damage: a few seconds for every 40 dives)…")
        arguments = ["dataset", "check", path, "--json", "--videos", *(["--partial"] if self.partial.isChecked() else [])]
        asked = (path, self.partial.isChecked())
        self._child(arguments, lambda report, code, err: self._got_report(asked, report, code, err))

    def _got_report(self, asked: tuple[str, bool], report: dict | None, code: int, err: str) -> None:
        if asked != (self.dataset_path.text(), self.partial.isChecked()):
            return  # the answer to an older pick, or to the other partial choice
        if report is None:
            self.check_text.setPlainText(f"Cannot train on this dataset:\n{err or 'the check gave no answer'}")
            return
        self._answer = (asked, report, code, err)  # read again when a preset or config changes the validation share
        lines = report_lines(report)
        if report["trainable"] and not report["splits"]["val"]:
            train, fraction = report["splits"]["train"], self._val_fraction()
            if validation_count(train, fraction):
                lines.insert(2, f"  validation        none listed: training sets aside {fraction:.0%} of the training dives (the same ones every run)")
            else:  # the run would stop at its start with this; Start stays off instead
                report = {**report, "trainable": False, "refusal": f"too few training dives ({train}) to set {fraction:.0%} aside for "
                          "validation (models are chosen on it, never on test): add dives, or list a validation split"}
        if report.get("refusal"):  # first: the box shows a few lines, and Start is off for this reason
            lines.insert(0, f"Refused: {report['refusal']}")
        self.check_text.setPlainText("\n".join(lines))
        self.report = report
        self.show_histogram(report.get("final_scores") or [])
        self._update_buttons()

    def show_histogram(self, scores: list[float]) -> None:
        """The usable dives' final scores in HISTOGRAM_BINS bars: a skewed or one-sided set shows before a run."""
        if self.histogram_bars is not None:
            self.histogram.removeItem(self.histogram_bars)
            self.histogram_bars = None
        if not scores:
            self.histogram.hide()
            return
        counts, edges = np.histogram(np.asarray(scores, dtype=float), bins=HISTOGRAM_BINS)
        self.histogram_bars = pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=(40, 110, 200, 170), pen=(20, 60, 120))
        self.histogram.addItem(self.histogram_bars)
        self.histogram.setTitle(f"Final scores of the {len(scores)} usable dives ({min(scores):g} to {max(scores):g})")
        self.histogram.show()

    def _val_fraction(self) -> float:
        """The share of training dives the run will set aside for validation: the preset's or config's, else the default."""
        try:
            fraction = float((self._base or {}).get("val_fraction", TrainConfig.val_fraction))
        except (TypeError, ValueError):  # the run's own config check names a bad value; here the default decides
            return TrainConfig.val_fraction
        return fraction if 0 < fraction < 1 else TrainConfig.val_fraction

    def _base_changed(self) -> None:
        """A new preset or config: its settings in the form, and the dataset's answer read again under its validation share."""
        if self._base is not None:
            self.show_settings(settings_of(self._base, Path(self.dataset_path.text())))
        if self._answer is not None:
            self._got_report(*self._answer)

    # --- settings ----------------------------------------------------------------------------
    def _use_preset(self, name: str) -> None:
        self._base = self._presets.get(name)
        self._base_changed()

    def _ask_config(self) -> None:
        path = choose_file(self, "A training config", "configs", "Training configs (*.yaml *.yml *.json);;All files (*)")
        if path:
            try:
                self._base = load_preset(Path(path))
            except (OSError, ValueError) as exc:
                self.show_message(f"{path}: {exc}", error=True)
                return
            self._base_changed()

    def show_settings(self, settings: Settings) -> None:
        for combo, value in ((self.method, settings.method), (self.backbone, settings.backbone), (self.mode, settings.mode)):
            if combo.findText(value) >= 0:
                combo.setCurrentText(value)
        self.epochs.setValue(settings.epochs)
        self.batch.setValue(settings.batch_size)
        self.lr.setValue(settings.lr)
        self.seed.setValue(settings.seed)
        self.partial.setChecked(settings.partial)

    def settings(self) -> Settings:
        return Settings(
            dataset=Path(self.dataset_path.text()), method=self.method.currentText(), backbone=self.backbone.currentText(),
            mode=self.mode.currentText(), epochs=self.epochs.value(), batch_size=self.batch.value(), lr=self.lr.value(),
            seed=self.seed.value(), partial=self.partial.isChecked(), **self._device_settings(),
        )

    def _device_settings(self) -> dict[str, Any]:
        """One choice: that device; several GPUs: "cuda" with their indices (one DDP process each); none: the trainer's."""
        chosen = self.chosen_devices()
        if len(chosen) > 1:
            return {"device": "cuda", "gpus": tuple(int(value.split(":")[1]) for value in chosen)}
        return {"device": chosen[0] if chosen else None}

    # --- running -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.report is None or not self.report.get("trainable"):
            self.show_message("Pick a dataset the check accepts first.", error=True)
            return
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = (self.root or runs_root()) / stamp
        try:
            config = build_config(self.settings(), folder, f"club-{self.method.currentText()}", self._base)
        except ValueError as exc:
            self.show_message(str(exc), error=True)
            return
        self._launch(folder, save_config(config, folder), resume=False, gpus=list(self.settings().gpus))

    def resume(self) -> None:
        if self.run is None:
            return
        self._launch(self.run.folder, self.run.folder / "config.json", resume=True)

    def _follow(self, folder: Path, fresh: bool) -> TrainingRun:
        """The tab now shows ``folder``'s run (``fresh``: its curves start empty)."""
        self.run = TrainingRun(folder, self)
        self.run.event.connect(self.on_event)
        self.run.log.connect(self.log_view.appendPlainText)
        self.run.ended.connect(self.on_ended)
        self._test_text = ""
        if fresh:
            self._curves = {"epoch": [], "train": [], "val": []}
            self._draw()
        self.show_message("")
        self.eta.setText("")
        self.gpu_memory.setText("")
        return self.run

    def _launch(self, folder: Path, config: Path, resume: bool, gpus: list[int] | None = None) -> None:
        run = self._follow(folder, fresh=not resume)
        self.status.setText(f"{'Resuming' if resume else 'Starting'} the training in {folder}…")
        run.start(config, resume=resume, gpus=gpus if not resume else None)
        self._update_buttons()

    def follow_left_run(self) -> None:
        """A run left running when the app last closed: re-read its progress and follow it until it ends."""
        found = left_running(self.root or runs_root())
        if not found or (self.run is not None and self.run.running):
            return
        run = self._follow(found[0], fresh=True)
        self.status.setText(f"Following the training left running in {found[0]}…")
        run.follow()
        self._update_buttons()

    def stop(self) -> None:
        if self.run is not None and self.run.running:
            self.run.stop()
            self.status.setText("Stopping after this epoch (its checkpoint is kept: Resume continues)…")

    def kill(self) -> None:
        if self.run is not None and self.run.running:
            self.run.kill()

    def on_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            splits = event["splits"]
            world = int(event.get("world_size", 1))
            where = f"{world} processes (DDP), each on its own {'GPU' if str(event.get('device')).startswith('cuda') else 'CPU share'}" \
                if world > 1 else event.get("device", "?")
            self._test_dives = int(splits["test"])
            self.status.setText(f"Training on {where}: {splits['train']} training, {splits['val']} validation, {splits['test']} test dives")
            self.gpu_memory.setText("" if str(event.get("device", "cpu")).startswith("cpu") else "GPU memory: measuring…")
        elif kind in ("video_check", "features"):
            self.progress.setMaximum(event["total"])
            self.progress.setValue(event["done"])
            self.progress.setFormat("checking for damage %v / %m dives" if kind == "video_check" else "features %v / %m dives")
            self.eta.setText(eta_text(event.get("eta_s")))
        elif kind == "resume":
            self.status.setText(f"Resumed after epoch {event['epoch']}")
        elif kind == "epoch":
            if event["epoch"] in self._curves["epoch"]:  # a resume replays nothing, but be exact anyway
                return
            self._curves["epoch"].append(event["epoch"])
            self._curves["train"].append(event["train_loss"])
            self._curves["val"].append(event["val_rho"])
            self._draw()
            self.progress.setMaximum(event["epochs"])
            self.progress.setValue(event["epoch"])
            self.progress.setFormat("epoch %v / %m")
            self.eta.setText(eta_text(event["eta_s"]))
            if "gpu_memory_mib" in event:
                self.gpu_memory.setText(f"GPU memory: {event['gpu_memory_mib'] / 1024:.2f} GiB peak")
            self.status.setText(f"Epoch {event['epoch']} of {event['epochs']}: validation ρ {event['val_rho']:.3f}, "
                                f"best epoch {event['best_epoch']}")
        elif kind == "early_stop":
            self.show_message(f"Stopped early at epoch {event['epoch']}: no better validation ρ since epoch {event['best_epoch']}")
        elif kind == "warning":
            self.show_message(f"Warning: {event['message']}")
        elif kind == "test":
            figures = event["figures"] or {}
            if "rho" in figures:
                few = f" ({self._test_dives} dives rank only roughly: a figure to take with care)" if self._test_dives < FEW_TEST_DIVES else ""
                self._test_text = f"on the {self._test_dives} test dives ρ {figures['rho']:.3f}, relative ℓ2 {figures['rl2']:.3f}{few}"
                self.status.setText(f"Tested: {self._test_text}")

    def _draw(self) -> None:
        self.loss_curve.setData(self._curves["epoch"], self._curves["train"])
        self.val_curve.setData(self._curves["epoch"], self._curves["val"])

    def on_ended(self, outcome: str, message: str) -> None:
        self._update_buttons()
        self.eta.setText("")
        if outcome == "done":
            bundle = self.run.last_terminal["bundle"] if self.run and self.run.last_terminal else ""
            self.status.setText(f"Finished: {self._test_text}." if self._test_text else "Finished.")
            self.show_message(message)
            self.bundle_trained.emit(str(bundle))
        elif outcome == "cancelled":
            # a volunteer who stops looks for the model next: a stopped run is none yet (only a finished one is registered)
            self.status.setText("Stopped: no model yet (Resume finishes the run and adds it to the Models tab).")
            self.show_message(f"{message}.")
        else:
            self.status.setText("The training failed." if outcome == "error" else "The training process crashed.")
            self.show_message(f"{message} (the log has the details)", error=True)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020" if error else "color: #333")

    def _show_log(self, shown: bool) -> None:
        self.log_view.setVisible(shown)
        self.log_button.setText("Hide the log" if shown else "Show the log")

    def _update_buttons(self) -> None:
        running = self.run is not None and self.run.running
        ready = (self.options is not None and self.report is not None and bool(self.report.get("trainable"))
                 and bool(self.chosen_devices()))
        self.start_button.setEnabled(ready and not running)
        self.stop_button.setEnabled(running)
        self.kill_button.setEnabled(running)
        checkpoint = self.run is not None and (self.run.folder / "checkpoints").is_dir()
        finished = self.run is not None and self.run.last_terminal is not None and self.run.last_terminal["event"] == "done"
        self.resume_button.setEnabled(not running and checkpoint and not finished)

    # --- closing the app ---------------------------------------------------------------------
    def ask_close_choice(self) -> str:
        box = QMessageBox(QMessageBox.Icon.Question, "A training is running", "A training is running. What should happen to it?",
                          parent=self)
        buttons = {
            box.addButton("Stop after this epoch", QMessageBox.ButtonRole.AcceptRole): "stop",
            box.addButton("Leave it running", QMessageBox.ButtonRole.AcceptRole): "leave",
            box.addButton("Kill it", QMessageBox.ButtonRole.DestructiveRole): "kill",
            box.addButton(QMessageBox.StandardButton.Cancel): "cancel",
        }
        box.exec()
        return buttons.get(box.clickedButton(), "cancel")

    def confirm_close(self) -> bool:
        """Closing the app during a run: stop it, leave it running (it outlives the app), kill it, or stay."""
        if self.run is None or not self.run.running:
            return True
        choice = self.ask_close_choice()
        if choice == "stop":
            self.run.stop()
        elif choice == "kill":
            self.run.kill()
        elif choice == "leave":
            self.run.leave()
        return choice != "cancel"
