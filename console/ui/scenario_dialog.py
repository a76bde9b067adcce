"""Simulation ▸ Training scenario…: pick a scenario to play on the simulated machine.

Lists the shipped scenarios and those in the trainer's folder, with each one's teaching goal,
protocol, planned faults, the client's conditions and what should happen. A broken scenario file
is listed with its reason and cannot be picked; the others still can.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from console.report import format_duration
from console.scenarios import Scenario, load_scenarios
from console.screening import contraindications
from console.ui import dialogs

ScenarioLoader = Callable[[Path | None], tuple[dict[str, Scenario], list[str]]]


def describe_scenario(scenario: Scenario) -> str:
    """The scenario as rich text for the trainer: goal, protocol, timeline and expectations."""
    e = html.escape
    conditions = contraindications()
    parts = [
        f"<h3>{e(scenario.title)}</h3>",
        f"<p><b>Teaching goal.</b> {e(scenario.goal)}</p>",
        f"<p><b>The trainee must:</b> {e(scenario.trainee_action)}</p>",
        f"<p><b>Protocol:</b> {e(scenario.protocol)}</p>",
    ]
    if scenario.contraindications:
        named = [
            conditions[c].question if c in conditions else c for c in scenario.contraindications
        ]
        parts.append(
            "<p><b>The client answers yes to:</b></p><ul>"
            + "".join(f"<li>{e(q)}</li>" for q in named)
            + "</ul>"
        )
    if scenario.faults:
        parts.append(
            "<p><b>What the machine and skin will do:</b></p><ul>"
            + "".join(
                f"<li>at {format_duration(f.at_s)}: {e(f.name.replace('_', ' '))}"
                + (f" for {f.duration_s:g} s" if f.duration_s is not None else "")
                + "</li>"
                for f in scenario.faults
            )
            + "</ul>"
        )
    client = []
    if scenario.skin is not None:
        client.append(scenario.skin.describe())
    if scenario.twitch_above_ua is not None:
        client.append(f"muscles twitch visibly above {scenario.twitch_above_ua:g} µA")
    if client:
        parts.append(f"<p><b>The client:</b> {e('; '.join(client))}.</p>")
    events = (
        ", ".join(
            [k.replace("_", " ") for k in scenario.expect_events]
            + [f"client {r}" for r in scenario.expect_reactions]
        )
        or "none"
    )
    actions = "; ".join(a.describe for a in scenario.expect_actions) or "none"
    parts.append(
        f"<p><b>Expected:</b> the session ends <i>{e(scenario.expect_outcome)}</i>; "
        f"events to meet: {e(events)}; the trainee's actions checked: {e(actions)}.</p>"
    )
    parts.append(f"<p style='color:#607d8b'>File: {e(scenario.source)}</p>")
    return "".join(parts)


class ScenarioDialog(QtWidgets.QDialog):
    """Choose a training scenario (and, optionally, the trainer's scenario folder)."""

    def __init__(
        self,
        folder: Path | None = None,
        parent: QtWidgets.QWidget | None = None,
        loader: ScenarioLoader = load_scenarios,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Training scenario")
        self.setObjectName("scenarioDialog")
        self.resize(900, 560)
        self.folder = folder
        self._loader = loader
        self._scenarios: dict[str, Scenario] = {}
        self.list = QtWidgets.QListWidget()
        self.list.setMinimumWidth(300)
        self.list.currentItemChanged.connect(self._show)
        self.list.itemDoubleClicked.connect(lambda _item: self._play_if_possible())
        self.details = QtWidgets.QTextBrowser()
        self.details.setOpenExternalLinks(False)
        self.folder_label = QtWidgets.QLabel("")
        self.folder_label.setWordWrap(True)
        folder_button = QtWidgets.QPushButton("Trainer's folder…")
        folder_button.setToolTip("Also list the scenario files (*.toml) in a folder of yours")
        folder_button.clicked.connect(self._choose_folder)
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.play_button = self.buttons.addButton(
            "Play on the simulated machine", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.accepted.connect(self._play_if_possible)
        self.buttons.rejected.connect(self.reject)
        split = QtWidgets.QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.details)
        split.setStretchFactor(1, 1)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(folder_button)
        bottom.addWidget(self.folder_label, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.buttons)
        self.reload()

    def reload(self) -> None:
        """List the scenarios again (after a folder change)."""
        self._scenarios, problems = self._loader(self.folder)
        self.list.clear()
        for scenario in self._scenarios.values():
            item = QtWidgets.QListWidgetItem(scenario.title)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, scenario.id)
            item.setToolTip(scenario.goal)
            self.list.addItem(item)
        for problem in problems:
            item = QtWidgets.QListWidgetItem(f"⚠ broken file: {problem.split(':', 1)[0]}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, None)
            item.setData(QtCore.Qt.ItemDataRole.UserRole + 1, problem)
            item.setToolTip(problem)
            item.setForeground(QtCore.Qt.GlobalColor.darkRed)
            self.list.addItem(item)
        self.folder_label.setText(
            f"Also from: {self.folder}" if self.folder else "Shipped scenarios only"
        )
        if self.list.count():
            self.list.setCurrentRow(0)

    def chosen(self) -> Scenario | None:
        """The scenario selected (None for a broken file or nothing)."""
        item = self.list.currentItem()
        scenario_id = item.data(QtCore.Qt.ItemDataRole.UserRole) if item else None
        return self._scenarios.get(scenario_id) if scenario_id else None

    def _show(self, item: QtWidgets.QListWidgetItem | None) -> None:
        scenario = self.chosen()
        self.play_button.setEnabled(scenario is not None)
        if scenario is not None:
            self.details.setHtml(describe_scenario(scenario))
        elif item is not None:
            problem = str(item.data(QtCore.Qt.ItemDataRole.UserRole + 1))
            self.details.setHtml(
                "<h3>This scenario file is broken</h3>"
                f"<p>{html.escape(problem)}</p><p>Fix the file and choose the folder again.</p>"
            )
        else:
            self.details.clear()

    def _play_if_possible(self) -> None:
        if self.chosen() is not None:
            self.accept()

    def _choose_folder(self) -> None:
        dialogs.choose_folder(
            self, "Trainer's scenario folder", str(self.folder or Path.home()), self._use_folder
        )

    def _use_folder(self, folder: Path) -> None:
        self.folder = folder
        self.reload()
