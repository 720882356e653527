"""Settings → Smart-search device: where the model runs (CPU, CUDA, Metal) and at what precision.

The choice is stored as library settings under ``SETTING_DEVICE`` and
``SETTING_PRECISION`` (empty means automatic) for whoever loads the model;
what it resolves to on this computer is asked of a child process, since
answering imports torch.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QWidget

from desktop.core.library import Library
from desktop.core.semantic.device import describe_plan_elsewhere
from desktop.core.semantic.search import SETTING_DEVICE, SETTING_PRECISION
from desktop.gui.app.jobs import JobRunner
from desktop.gui.dialogs.settings_page import SettingsPage

DEVICES = (("", "Automatic"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"), ("mps", "Apple GPU (Metal)"))
PRECISIONS = (("", "Automatic"), ("fp32", "fp32 (full)"), ("bf16", "bf16"), ("fp16", "fp16 (GPU only)"))


def _plan_device(device: str, precision: str) -> str:
    """What the choice resolves to on this computer (asked of a child process: it imports torch)."""
    return describe_plan_elsewhere(device or None, precision or None)


class DevicePage(SettingsPage):
    """Device and precision for the smart-search model, and what they resolve to here."""

    key = "device"
    model_changed = Signal()

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Smart-search device", library, runner, parent)
        form = QFormLayout(self)
        self.device_combo = QComboBox()
        for key, label in DEVICES:
            self.device_combo.addItem(label, key)
        self.precision_combo = QComboBox()
        for key, label in PRECISIONS:
            self.precision_combo.addItem(label, key)
        self.device_combo.currentIndexChanged.connect(self._on_device_changed)
        self.precision_combo.currentIndexChanged.connect(self._on_device_changed)
        dev_row = QHBoxLayout()
        dev_row.addWidget(self.device_combo)
        dev_row.addWidget(QLabel("Precision"))
        dev_row.addWidget(self.precision_combo)
        dev_row.addStretch(1)
        form.addRow("Run on", dev_row)
        self.device_plan = QLabel("…")
        self.device_plan.setWordWrap(True)
        form.addRow("Will use", self.device_plan)

    def refresh(self) -> None:
        device = self.library.get_setting(SETTING_DEVICE, "") or ""
        precision = self.library.get_setting(SETTING_PRECISION, "") or ""
        for combo, value in ((self.device_combo, device), (self.precision_combo, precision)):
            combo.blockSignals(True)
            i = combo.findData(value)
            combo.setCurrentIndex(i if i >= 0 else 0)
            combo.blockSignals(False)
        self._plan()

    def _on_device_changed(self) -> None:
        self.set_device(str(self.device_combo.currentData()), str(self.precision_combo.currentData()))

    def set_device(self, device: str, precision: str) -> None:
        """Store the device/precision choice ('' = automatic) and show what it resolves to."""
        self.library.set_setting(SETTING_DEVICE, device)
        self.library.set_setting(SETTING_PRECISION, precision)
        self.model_changed.emit()
        self._plan()

    def _plan(self) -> None:
        device, precision = str(self.device_combo.currentData()), str(self.precision_combo.currentData())
        self.device_plan.setText("Checking this computer…")
        self.runner.submit(
            "Checking the smart-search device",
            lambda _c: _plan_device(device, precision),
            on_result=lambda text: self.device_plan.setText(str(text)),
            on_error=self.device_plan.setText,  # "Checking the smart-search device failed (…)"
            track=False,
            owner=self,
        )
