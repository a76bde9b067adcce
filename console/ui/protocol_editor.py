"""The protocol editor: a trainer writes a protocol pack (a TOML file) without Python.

Every rule comes from the core: :func:`console.protocols.validate_protocol` and
:func:`~console.protocols.comfort_notes` for the protocol, :func:`console.drivers.capability_problems`
for the connected machine, :mod:`console.packs` for the file. This dialog holds no rule of its own:
it builds a :class:`Protocol` from what is typed (on every keystroke), asks those functions through
:func:`console.protocol_draft.check`, and marks the cell or field each sentence is about, so the
trainer sees where to look. A pack with problems opens as it is, to be fixed here.

The parts: :class:`~console.ui.editor_toolbar.EditorToolbar` (the file commands),
:class:`~console.ui.protocol_header.ProtocolHeader` (the protocol's fields),
:class:`~console.ui.steps_panel.StepsPanel` (the steps table),
:class:`~console.ui.problem_panel.ProblemPanel` (the problems in words) and
:class:`~console.ui.protocol_preview.ProtocolPreview` (totals and face map).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from console import packs
from console.drivers import Capabilities
from console.protocol_draft import (
    BLANK_PROTOCOL,
    CLINICAL_FREQUENCIES_HZ,
    Column,
    Draft,
    check,
    parse_duration,
    read_draft,
)
from console.protocols import Protocol, ProtocolError, comfort_notes
from console.report import format_duration
from console.ui import dialogs
from console.ui.editor_toolbar import EditorToolbar
from console.ui.editor_widgets import elastic
from console.ui.problem_panel import ProblemPanel
from console.ui.protocol_header import ProtocolHeader
from console.ui.protocol_preview import ProtocolPreview
from console.ui.step_table import PROBLEM_BACKGROUND
from console.ui.steps_panel import TECHNIQUE_MIN_WIDTH, StepsPanel
from console.zones import zone_catalog

# The dialog, and the names its users and tests have known it by since it was one module.
__all__ = [
    "PROBLEM_BACKGROUND",
    "TECHNIQUE_MIN_WIDTH",
    "Column",
    "ProtocolEditor",
    "parse_duration",
]


class ProtocolEditor(QtWidgets.QDialog):
    """Write, check and save a protocol pack.

    The header fields and the steps table describe one :class:`Protocol`; on every change it is
    validated against the protocol rules and, when a machine is connected, its capabilities.
    Wrong cells turn red, every problem is listed under the table in plain words, comfort notes
    are listed as advice, and Save stays disabled while anything is wrong. The face map previews
    the zones the protocol visits and the selected step's zone. ``pack_saved(path, protocol)``
    is emitted after each save so the main window can reload the protocols.
    """

    pack_saved = QtCore.Signal(object, object)

    def __init__(
        self,
        protocols: Mapping[str, Protocol],
        capabilities: Capabilities | None = None,
        machine_name: str = "",
        packs_folder: Path | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("protocolEditor")
        self.capabilities = capabilities
        self.machine_name = machine_name
        self.catalog = zone_catalog()
        self._packs_folder = Path(packs_folder) if packs_folder is not None else None
        self._take_installed(protocols)
        #: The file the content came from or was last saved to.
        self.path: Path | None = None
        self._dirty = False
        self._loading = False
        self._problems: list[str] = []
        self._advice: list[str] = []
        self._targets: list[Callable[[], None] | None] = []

        self.toolbar = EditorToolbar(
            self.installed.values(),
            new=self.new_protocol,
            open_pack=self._open_dialog,
            save=self.save,
            save_as=self._save_as_dialog,
        )
        self.header = ProtocolHeader()
        self.steps_panel = StepsPanel(self.catalog)
        self.problem_panel = ProblemPanel()
        self.preview = ProtocolPreview(self.catalog)
        self._expose_parts()
        self.toolbar.start_from_chosen.connect(self.start_from)
        self.header.changed.connect(self._changed)
        self.model.steps_changed.connect(self._changed)
        self.table.selectionModel().currentChanged.connect(self._current_changed)
        self.problem_panel.activated.connect(self._go_to_problem)
        self.face_map.zone_clicked.connect(self._zone_clicked)
        self._show_machine()

        left_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        left_split.addWidget(self.steps_panel)
        left_split.addWidget(self.problem_panel)
        left_split.setChildrenCollapsible(False)
        left_split.setStretchFactor(0, 3)
        left_split.setStretchFactor(1, 1)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.header)
        left_layout.addWidget(left_split, 1)
        # The preview takes 2/9 of the width, within what the face map needs to be read.
        self.preview.setMinimumWidth(220)
        self.preview.setMaximumWidth(340)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(left, 7)
        body.addWidget(self.preview, 2)

        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("editorStatus")
        elastic(self.status)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QtWidgets.QPushButton("Save pack")
        self.save_button.setObjectName("primaryButton")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(lambda: self.save())
        close = QtWidgets.QPushButton("Close")
        close.setAutoDefault(False)
        close.setToolTip("Close the editor; unsaved changes are asked about")
        close.clicked.connect(self.reject)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(close)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 10)
        layout.addWidget(self.toolbar)
        layout.addLayout(body, 1)
        layout.addLayout(bottom)

        self.load_protocol(BLANK_PROTOCOL)
        self.table.setFocus()
        available = self.screen().availableGeometry()
        self.resize(min(1280, available.width()), min(800, available.height()))

    # -- building ----------------------------------------------------------------------------

    def _expose_parts(self) -> None:
        """The parts' widgets and actions under the dialog's own names (tests and the main
        window reach them there)."""
        header, steps, preview, toolbar = self.header, self.steps_panel, self.preview, self.toolbar
        self.new_action, self.open_action = toolbar.new_action, toolbar.open_action
        self.save_action, self.save_as_action = toolbar.save_action, toolbar.save_as_action
        self.start_from_combo = toolbar.start_from_combo
        self.id_edit, self.name_edit = header.id_edit, header.name_edit
        self.category, self.version_edit = header.category, header.version_edit
        self.description, self.warnings = header.description, header.warnings
        self.per_week, self.sessions = header.per_week, header.sessions
        self.maintenance_low = header.maintenance_low
        self.maintenance_high = header.maintenance_high
        self.header_message = header.header_message
        self.model, self.delegate, self.table = steps.model, steps.delegate, steps.table
        self.steps_caption = steps.caption
        self.add_action, self.duplicate_action = steps.add_action, steps.duplicate_action
        self.delete_action = steps.delete_action
        self.up_action, self.down_action = steps.up_action, steps.down_action
        self.problem_summary = self.problem_panel.summary
        self.problem_list = self.problem_panel.list
        self.face_map, self.total_label = preview.face_map, preview.total_label
        self.totals_detail, self.machine_label = preview.totals_detail, preview.machine_label

    # -- public interface --------------------------------------------------------------------

    def packs_folder(self) -> Path:
        """Where Save writes ``<id>.toml``: the folder given, else :func:`console.packs.packs_dir`."""
        return self._packs_folder if self._packs_folder is not None else packs.packs_dir()

    def load_protocol(self, protocol: Protocol) -> None:
        """Show ``protocol`` for editing (it becomes unsaved content: no file yet)."""
        self._load(Draft.of(protocol))

    def _load(self, draft: Draft) -> None:
        self._loading = True
        try:
            self.header.show_protocol(draft.protocol)
            self.model.set_rows(draft.rows)
        finally:
            self._loading = False
        self.path = None
        self._dirty = False
        self._revalidate()
        if draft.rows:
            self.table.setCurrentIndex(self.model.index(0, Column.ZONE))
        self._say("")

    def build_protocol(self) -> Protocol:
        """What the fields say now, valid or not."""
        return self.header.protocol(self.model.steps)

    def current_protocol(self) -> Protocol | None:
        """The protocol being edited, or None while anything is wrong (see :meth:`problems`)."""
        return None if self._problems else self.build_protocol()

    def problems(self) -> list[str]:
        """Every problem in plain words: the protocol rules, then the machine's capabilities."""
        return list(self._problems)

    def advice(self) -> list[str]:
        """Notes that do not stop a save: comfort notes and an id an installed plugin owns."""
        return list(self._advice)

    @property
    def dirty(self) -> bool:
        """True when there are changes not saved to a file."""
        return self._dirty

    def _take_installed(self, protocols: Mapping[str, Protocol]) -> None:
        self.installed = dict(protocols)
        #: Installed protocols that come from packs (shipped or the trainer's): a pack may
        #: replace those; any other installed id belongs to a plugin and would refuse the pack.
        shipped_and_own, _broken = packs.load_packs(self.packs_folder())
        self._pack_ids = {protocol.id for protocol in shipped_and_own}

    def set_installed(self, protocols: Mapping[str, Protocol]) -> None:
        """The installed protocols changed (a pack saved, the packs folder read again)."""
        self._take_installed(protocols)
        self.toolbar.set_installed(self.installed.values())
        self._revalidate()

    def set_machine(self, capabilities: Capabilities | None, machine_name: str = "") -> None:
        """Check against another machine (None: the hard limits only)."""
        self.capabilities = capabilities
        self.machine_name = machine_name
        self._show_machine()
        self._revalidate()

    def new_protocol(self) -> bool:
        """Start an empty protocol (after asking if there are unsaved changes)."""
        if not self._confirm_discard():
            return False
        self.load_protocol(BLANK_PROTOCOL)
        self.id_edit.setFocus()
        return True

    def start_from(self, protocol_id: str) -> bool:
        """Copy the installed protocol ``protocol_id`` into the editor."""
        protocol = self.installed.get(protocol_id)
        if protocol is None or not self._confirm_discard():
            return False
        self.load_protocol(protocol)
        self._say(f"Started from a copy of {protocol.name} (not saved yet).")
        return True

    def open_pack(self, path: Path) -> bool:
        """Load the pack file ``path`` to edit it.

        A pack that is not valid TOML (or cannot be read) is shown in a message box, with its
        line and reason, and the editor keeps what it had. A pack with other problems (an
        unknown zone, a current above the limit, a missing field) opens as it is, its wrong
        cells and fields marked and its problems, with their lines, in the status line.
        """
        path = Path(path)
        try:
            draft, problems = read_draft(path)
        except ProtocolError as error:
            dialogs.tell_in(self, "Cannot open the pack", _pack_error_text(error))
            return False
        self._load(draft)
        self.path = path
        self._update_title()
        if problems is None:
            self._say(f"Opened {path}")
        else:  # what the console says of the file; the list under the table has all of it
            self._say(
                f"Opened {path.name} to fix it; the console refuses it: "
                + "; ".join(str(issue) for issue in problems.issues),
                f"{path}, as the console reads it:\n"
                + "\n".join(f"• {issue}" for issue in problems.issues),
            )
        return True

    def save(self, path: Path | None = None) -> Path | None:
        """Save the pack, by default as ``<packs folder>/<id>.toml`` (asking before replacing a
        file the editor did not open); returns the file, or None if nothing was saved."""
        protocol = self.current_protocol()
        if protocol is None:
            dialogs.tell_in(
                self,
                "Cannot save the pack",
                "Fix these first:\n" + "\n".join(f"• {p}" for p in self._problems),
            )
            return None
        if path is None:
            path = self.packs_folder() / f"{protocol.id}.toml"
            if (
                path.exists()
                and path != self.path
                and not self._ask(
                    "Replace the pack?",
                    f"{path} already exists. Replace it with this protocol?",
                )
            ):
                return None
        try:
            saved = packs.save_pack(protocol, Path(path))
        except (ProtocolError, OSError) as error:
            reason = _pack_error_text(error) if isinstance(error, ProtocolError) else str(error)
            dialogs.tell_in(self, "The pack was not saved", reason, dialogs.Level.CRITICAL)
            return None
        self.path = saved
        self._dirty = False
        self._update_title()
        self._say(f"Saved {saved}")
        self.pack_saved.emit(saved, protocol)
        return saved

    def add_step(self) -> None:
        """A new step after the selected one, with its settings and an empty technique."""
        self.steps_panel.add_step()

    def duplicate_step(self) -> None:
        """A copy of the selected step just below it."""
        self.steps_panel.duplicate_step()

    def delete_steps(self) -> None:
        """Delete the selected steps (every row with a selected cell)."""
        self.steps_panel.delete_steps()

    def move_step(self, delta: int) -> None:
        """Move the selected step one place up (-1) or down (+1)."""
        self.steps_panel.move_step(delta)

    # -- validation and what it shows --------------------------------------------------------

    def _changed(self, *_: object) -> None:
        if self._loading:
            return
        self._dirty = True
        self._revalidate()

    def _revalidate(self) -> None:
        protocol = self.build_protocol()
        found = check(
            Draft(protocol, self.model.rows), self.catalog, self.capabilities, self.machine_name
        )
        cells: dict[tuple[int, Column], list[str]] = {}
        rows: dict[int, list[str]] = {}
        fields: dict[QtWidgets.QWidget, list[str]] = {}
        targets: list[Callable[[], None] | None] = []
        for problem in found:
            if problem.row is not None:
                row, sentence = problem.row, problem.sentence
                rows.setdefault(row, []).append(sentence)
                for column in problem.columns:
                    cells.setdefault((row, column), []).append(sentence)
                column = problem.columns[0] if problem.columns else Column.ZONE
                targets.append(lambda r=row, c=column: self.steps_panel.focus_cell(r, c))
                continue
            widgets = [w for name in problem.fields for w in self._widgets_of(name)]
            for widget in widgets:
                fields.setdefault(widget, []).append(problem.sentence)
            targets.append(widgets[0].setFocus if widgets else None)

        self._problems = [problem.sentence for problem in found]
        self._advice = self._id_notes(protocol) + comfort_notes(protocol)
        self._targets = targets
        self.model.set_problems(cells, rows)
        self._mark_fields(fields, protocol)
        self.problem_panel.show_problems(self._problems, self._advice)
        too_long = any(s.startswith("total time") for s in self._problems)
        self.preview.show_totals(protocol, too_long)
        steps = len(protocol.steps)
        self.steps_caption.setText(
            f"{steps} step{'s' if steps != 1 else ''} · {format_duration(protocol.duration_s)}"
        )
        self._refresh_map()
        ok = not self._problems
        for widget in (self.save_action, self.save_as_action, self.save_button):
            widget.setEnabled(ok)
        self.save_button.setToolTip(
            f"Save as {self.packs_folder() / (protocol.id + '.toml')} (Ctrl+S)"
            if ok
            else "Fix the problems listed under the table first"
        )
        self._update_title()

    def _widgets_of(self, field: str) -> list[QtWidgets.QWidget]:
        """The widgets of a field a problem names: a header field, or the table for ``steps``."""
        return [self.table] if field == "steps" else self.header.widgets_of(field)

    def _id_notes(self, protocol: Protocol) -> list[str]:
        owner = self.installed.get(protocol.id)
        if owner is None or protocol.id in self._pack_ids:
            return []
        return [
            f"id {protocol.id!r} belongs to the installed protocol {owner.name!r}, which a plugin "
            "provides: the console keeps that one and refuses a pack with the same id. Choose "
            "another id to install this pack beside it."
        ]

    def _mark_fields(self, fields: dict[QtWidgets.QWidget, list[str]], protocol: Protocol) -> None:
        header_sentences = self.header.mark_fields(fields)
        notes = self._id_notes(protocol)
        if header_sentences:
            text, level = " · ".join(dict.fromkeys(header_sentences)), "danger"
        elif notes:
            owner = self.installed[protocol.id].name
            text = f"⚠ Id {protocol.id!r} belongs to the installed {owner!r}: a pack with it is refused."
            level = "warning"
        else:
            text, level = f"Save writes {protocol.id}.toml into the packs folder.", "ok"
        self.header.show_message(text, "\n".join(header_sentences or notes), level)

    def _show_machine(self) -> None:
        self.preview.show_machine(self.capabilities, self.machine_name)
        self.delegate.frequency_choices = (
            self.capabilities.frequency_choices_hz if self.capabilities is not None else ()
        ) or CLINICAL_FREQUENCIES_HZ

    def _refresh_map(self) -> None:
        self.preview.show_steps(self.model.steps, self.steps_panel.current_row())

    def _current_changed(self, *_: object) -> None:
        self._refresh_map()

    def _zone_clicked(self, zone_id: str) -> None:
        """Select the next step on the clicked zone (cycling through them)."""
        rows = [row for row, step in enumerate(self.model.steps) if step.zone == zone_id]
        if not rows:
            self._say(f"No step on {self.catalog[zone_id].name} yet: add one and choose the zone.")
            return
        current = self.steps_panel.current_row()
        row = next((r for r in rows if r > current), rows[0])
        self.steps_panel.focus_cell(row, Column(max(self.table.currentIndex().column(), 0)))

    def _go_to_problem(self, row: int) -> None:
        target = self._targets[row] if row < len(self._targets) else None
        if target is not None:
            target()

    # -- files and closing -------------------------------------------------------------------

    def _open_dialog(self) -> None:
        if not self._confirm_discard():
            return
        folder = self.path.parent if self.path is not None else self.packs_folder()
        path = dialogs.pick_file_in(
            self, "Open protocol pack", str(folder), "Protocol packs (*.toml)", save=False
        )
        if path is not None:
            self.open_pack(path)

    def _save_as_dialog(self) -> None:
        protocol = self.current_protocol()
        if protocol is None:
            return
        start = self.path or self.packs_folder() / f"{protocol.id}.toml"
        path = dialogs.pick_file_in(
            self, "Save protocol pack as", str(start), "Protocol packs (*.toml)", save=True
        )
        if path is not None:
            if path.suffix.lower() != ".toml":
                path = path.with_name(path.name + ".toml")
            self.save(path)

    def _confirm_discard(self) -> bool:
        if not self._dirty:
            return True
        return self._ask("Discard changes?", "The protocol has unsaved changes. Discard them?")

    def _ask(self, title: str, text: str) -> bool:
        # Modal to the editor alone (a window without a parent): the main window's emergency
        # stop button stays within reach while the trainer answers.
        return dialogs.confirm_in(self, title, text)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 - Qt names it
        """Esc does not close the editor: it is the application's emergency stop."""
        if event.key() == QtCore.Qt.Key.Key_Escape:
            event.ignore()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        """Close (the Close button, the window's close), asking first if there are unsaved
        changes."""
        if self.isVisible() and not self._confirm_discard():
            return
        super().reject()

    def _say(self, text: str, tooltip: str = "") -> None:
        """The status line; empty ``text`` says where the content lives. ``tooltip`` holds what
        a long text may not show whole."""
        if not text:
            text = (
                f"Editing {self.path}"
                if self.path is not None
                else f"Not saved yet: Save writes <id>.toml into {self.packs_folder()}"
            )
        self.status.setText(text)
        self.status.setToolTip(tooltip)

    def _update_title(self) -> None:
        name = self.name_edit.text().strip() or "new protocol"
        where = f" — {self.path.name}" if self.path is not None else ""
        self.setWindowTitle(f"Protocol editor — {name}{where}{' •' if self._dirty else ''}")


def _pack_error_text(error: ProtocolError) -> str:
    """A pack error as the trainer reads it: the file, then each line and reason."""
    if isinstance(error, packs.PackError):
        issues = "\n".join(f"• {issue}" for issue in error.issues)
        return f"{error.source} cannot be used:\n\n{issues}\n\nThe editor keeps what it had."
    return "\n".join(f"• {problem}" for problem in error.problems)
