"""The left sidebar: views, library folders, tags and albums, each with a photo count.

Counts for a big library take tens of milliseconds of SQL (folders are grouped
in SQLite, not in Python), so ``Sidebar.refresh`` gathers them with the job
runner off the GUI thread and fills the tree when they arrive; the tree keeps
the current selection across refreshes by each entry's stable key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeView, QVBoxLayout, QWidget

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.reads import STATUS_ERROR, STATUS_MISSING
from desktop.core.library import Library

KeyRole = Qt.ItemDataRole.UserRole + 40
CountRole = Qt.ItemDataRole.UserRole + 41

ERRORS_KEY = "view:errors"
ALL_KEY = "view:all"


@dataclass(frozen=True)
class ViewSpec:
    """What the grid should show for a sidebar entry."""

    key: str
    title: str
    filter: PhotoFilter = field(default_factory=PhotoFilter)
    errors: bool = False  # the 'Could not read' list instead of the grid
    root_id: int | None = None  # set for a library folder entry (for its context menu)


VIEWS: list[tuple[str, str, Callable[[], PhotoFilter]]] = [
    (ALL_KEY, "All photos", PhotoFilter),
    ("view:recent", "Recent imports", lambda: PhotoFilter(recent_days=30, imported_only=True)),
    ("view:untagged", "Untagged", lambda: PhotoFilter(untagged=True)),
    ("view:favourites", "Favourites", lambda: PhotoFilter(rating_min=4)),
    ("view:rejected", "Rejected", lambda: PhotoFilter(rejected=True)),
    ("view:missing", "Missing files", lambda: PhotoFilter(statuses=(STATUS_MISSING,))),
]


@dataclass
class SidebarData:
    """Everything the tree shows, gathered on a worker thread."""

    views: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    # root id, root path, watched, {relative folder: photos directly in it}
    folders: list[tuple[int, str, bool, dict[str, int]]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)
    albums: list[tuple[str, int]] = field(default_factory=list)


def gather(library: Library) -> SidebarData:
    """Counts for every sidebar entry (runs on any thread: each has its own connection)."""
    data = SidebarData()
    for key, _title, make in VIEWS:
        data.views[key] = library.count(make())
    data.errors = library.count(PhotoFilter(statuses=(STATUS_ERROR,)))
    per_dir = library.reads.folder_counts()
    for root in library.reads.roots():
        data.folders.append((root.id, root.path, root.watched, per_dir.get(root.id, {})))
    # the counts match what the views show (a parent tag counts its children's photos, each once)
    data.tags = [(t.name, t.count) for t in library.tags(include_missing=False)]
    data.albums = library.albums(include_missing=False)
    return data


_HEADING, _ENTRY, _HINT, _ACTION = "heading", "entry", "hint", "action"


@dataclass
class _Node:
    """One row the tree should show."""

    key: str
    label: str
    count: int | None = None
    tooltip: str = ""
    spec: ViewSpec | None = None
    kind: str = _ENTRY
    children: list[_Node] = field(default_factory=list)


def _shape(node: _Node) -> tuple[Any, ...]:
    """Which rows exist where: equal shapes differ only in labels and counts."""
    return (node.key, node.kind, tuple(_shape(c) for c in node.children))


def _collect_counts(node: _Node, out: dict[str, int | None]) -> None:
    if node.kind == _ENTRY:
        out[node.key] = node.count
    for child in node.children:
        _collect_counts(child, out)


def _folder_totals(direct: dict[str, int]) -> dict[str, int]:
    """Photos at or below each folder, from photos directly in each folder."""
    totals: dict[str, int] = {}
    for d, n in direct.items():
        parts = d.split("/") if d else []
        for i in range(len(parts) + 1):
            key = "/".join(parts[:i])
            totals[key] = totals.get(key, 0) + n
    return totals


class Sidebar(QWidget):
    """Views, folders, tags and albums; selecting one emits ``view_selected``."""

    view_selected = Signal(object)  # ViewSpec
    rescan_requested = Signal(int)  # root id
    remove_root_requested = Signal(int)
    watch_toggled = Signal(int, bool)
    add_folder_requested = Signal()
    delete_tag_requested = Signal(str)  # full tag name
    delete_album_requested = Signal(str)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.model = QStandardItemModel(self)
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.setFrameShape(QTreeView.Shape.NoFrame)
        self.tree.setIndentation(14)
        self.model.setHorizontalHeaderLabels(["Library", ""])
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self._specs: dict[str, ViewSpec] = {}
        self._items: dict[str, QStandardItem] = {}
        self._count_items: dict[str, QStandardItem] = {}
        self._counts: dict[str, int | None] = {}
        # collapsed entries whose children are not built yet (built when first expanded)
        self._lazy: dict[str, _Node] = {}
        self._shape: list[Any] = []
        self._current_key = ALL_KEY
        self._quiet = False
        self._expanded: set[str] = {"head:views", "head:folders", "head:tags", "head:albums"}
        self.data = SidebarData()
        self.populate(SidebarData())
        self.tree.selectionModel().currentChanged.connect(self._on_current)
        self.tree.expanded.connect(self._on_expanded)

    # ------------------------------------------------------------------ API
    def current_spec(self) -> ViewSpec:
        return self._specs.get(self._current_key) or self._specs[ALL_KEY]

    def spec(self, key: str) -> ViewSpec | None:
        return self._specs.get(key)

    def select_key(self, key: str, emit: bool = True) -> None:
        item = self._items.get(key)
        if item is None:
            return
        self._current_key = key
        self.tree.blockSignals(not emit)
        self.tree.selectionModel().blockSignals(not emit)
        self.tree.setCurrentIndex(item.index())
        self.tree.selectionModel().blockSignals(False)
        self.tree.blockSignals(False)

    def clear_selection(self) -> None:
        """No entry highlighted (the grid shows a search, not a sidebar view)."""
        # a flag, not blockSignals: the tree must still hear the change to repaint
        self._quiet = True
        self.tree.selectionModel().clear()
        self._quiet = False

    def count_for(self, key: str) -> int | None:
        return self._counts.get(key)

    def populate(self, data: SidebarData) -> None:
        """Show ``data``, keeping expansion and the current entry.

        During a scan this runs every few seconds with new counts for the same
        entries, so when the entries are unchanged only the changed labels and
        counts are set; otherwise the tree is rebuilt, each section assembled
        detached and inserted at once (one view update, not one per folder).
        """
        self.data = data
        plan = self._plan(data)
        self._counts = {}
        for node in plan:
            _collect_counts(node, self._counts)
        shape = [_shape(n) for n in plan]
        if shape == self._shape:
            for node in plan:
                self._update(node)
            return
        self._shape = shape
        self._remember_expansion()
        self.model.removeRows(0, self.model.rowCount())
        self._specs.clear()
        self._items.clear()
        self._count_items.clear()
        self._lazy.clear()
        for node in plan:
            self.model.appendRow(self._build(node))
        for key, item in self._items.items():
            if key in self._expanded or key.startswith("head:"):
                self.tree.setExpanded(item.index(), key in self._expanded)
        self.tree.resizeColumnToContents(1)
        if self._current_key in self._items:
            self.select_key(self._current_key, emit=False)

    # ------------------------------------------------------------ internals
    def _plan(self, data: SidebarData) -> list[_Node]:
        """What the tree should show, as plain data (cheap to compare with what it shows)."""
        views = _Node("head:views", "Library", kind=_HEADING)
        for key, title, make in VIEWS:
            views.children.append(_Node(key, title, data.views.get(key), spec=ViewSpec(key, title, make())))
        views.children.append(
            _Node(
                ERRORS_KEY,
                "Could not read",
                data.errors,
                spec=ViewSpec(ERRORS_KEY, "Could not read", errors=True),
            )
        )

        folders = _Node("head:folders", "Folders", kind=_HEADING)
        for root_id, path, watched, direct in data.folders:
            totals = _folder_totals(direct)
            label = Path(path).name or path
            spec = ViewSpec(f"root:{root_id}", label, PhotoFilter(folder=Path(path)), root_id=root_id)
            root_node = _Node(
                spec.key, label if watched else f"{label} (not watched)", totals.get("", 0), path, spec
            )
            folders.children.append(root_node)
            nodes: dict[str, _Node] = {"": root_node}
            for rel in sorted(k for k in totals if k):
                parent_rel = rel.rsplit("/", 1)[0] if "/" in rel else ""
                name = rel.rsplit("/", 1)[-1]
                full = os.path.join(path, rel)
                node = _Node(
                    f"folder:{full}",
                    name,
                    totals[rel],
                    full,
                    ViewSpec(f"folder:{full}", name, PhotoFilter(folder=Path(full))),
                )
                nodes.get(parent_rel, root_node).children.append(node)
                nodes[rel] = node
        if not data.folders:
            folders.children.append(_Node("action:add-folder", "Add a folder…", kind=_ACTION))

        tags = _Node("head:tags", "Tags", kind=_HEADING)
        tag_nodes: dict[str, _Node] = {}
        for name, n in data.tags:
            parent_name = name.rsplit("/", 1)[0] if "/" in name else ""
            node = _Node(
                f"tag:{name}",
                name.rsplit("/", 1)[-1],
                n,
                name,
                ViewSpec(f"tag:{name}", name, PhotoFilter(tags=[name])),
            )
            tag_nodes.get(parent_name, tags).children.append(node)
            tag_nodes[name] = node
        if not data.tags:
            tags.children.append(
                _Node("hint:tags", "No tags yet: select photos, right-click → Add tag…", kind=_HINT)
            )

        albums = _Node("head:albums", "Albums", kind=_HEADING)
        for name, n in data.albums:
            albums.children.append(
                _Node(
                    f"album:{name}", name, n, name, ViewSpec(f"album:{name}", name, PhotoFilter(album=name))
                )
            )
        if not data.albums:
            albums.children.append(
                _Node("hint:albums", "No albums yet: right-click photos → Add to album", kind=_HINT)
            )
        return [views, folders, tags, albums]

    def _build(self, node: _Node) -> list[QStandardItem]:
        """The row for ``node`` with its whole subtree, built before it joins the model."""
        item = QStandardItem(node.label)
        item.setData(node.key, KeyRole)
        count_item = QStandardItem("")
        if node.kind == _HEADING:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            item.setSelectable(False)
        elif node.kind == _HINT:
            item.setSelectable(False)
            item.setEnabled(False)
            item.setToolTip(node.label)
        elif node.kind == _ACTION:
            item.setForeground(self.palette().placeholderText())
        else:
            item.setData(node.count, CountRole)
            item.setToolTip(node.tooltip or (node.spec.title if node.spec else node.label))
            count_item.setText("" if node.count is None else f"{node.count:,}")
            count_item.setData(node.key, KeyRole)
            count_item.setForeground(self.palette().placeholderText())
            count_item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if node.spec is not None:
                self._specs[node.key] = node.spec
        if node.kind != _HINT:
            self._items[node.key] = item
            self._count_items[node.key] = count_item
        if node.children and node.kind != _HEADING and node.key not in self._expanded:
            # a library's folder tree can have thousands of entries: build them when first opened
            self._lazy[node.key] = node
            item.appendRow([QStandardItem(""), QStandardItem("")])  # shows the expand arrow
        else:
            for child in node.children:
                item.appendRow(self._build(child))
        return [item, count_item]

    def _on_expanded(self, index: QModelIndex) -> None:
        key = self._key_at(index)
        node = self._lazy.pop(key, None) if key is not None else None
        if node is None or key is None:
            return
        self._expanded.add(key)
        item = self._items[key]
        item.removeRows(0, item.rowCount())
        for child in node.children:
            item.appendRow(self._build(child))
        self.tree.resizeColumnToContents(1)

    def _update(self, node: _Node) -> None:
        """Set the label and count of an entry that is already shown (same place in the tree)."""
        if node.kind == _ENTRY:
            item = self._items[node.key]
            if item.text() != node.label:
                item.setText(node.label)
            if item.data(CountRole) != node.count:
                item.setData(node.count, CountRole)
                self._count_items[node.key].setText("" if node.count is None else f"{node.count:,}")
            if node.spec is not None:
                self._specs[node.key] = node.spec
        if node.key in self._lazy:
            self._lazy[node.key] = node  # built with these counts when it is opened
            return
        for child in node.children:
            self._update(child)

    def _remember_expansion(self) -> None:
        for key, item in self._items.items():
            if self.tree.isExpanded(item.index()):
                self._expanded.add(key)
            else:
                self._expanded.discard(key)

    def _key_at(self, index: QModelIndex) -> str | None:
        if not index.isValid():
            return None
        key: Any = index.siblingAtColumn(0).data(KeyRole)
        return key if isinstance(key, str) else None

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet:
            return
        key = self._key_at(current)
        if key == "action:add-folder":
            self.add_folder_requested.emit()
            return
        if key is None or key not in self._specs:
            return
        self._current_key = key
        self.view_selected.emit(self._specs[key])

    def _context_menu(self, pos: QPoint) -> None:
        key = self._key_at(self.tree.indexAt(pos))
        spec = self._specs.get(key or "")
        menu = QMenu(self)
        if spec is not None and spec.root_id is not None:
            root_id = spec.root_id
            watched = next((w for rid, _p, w, _d in self.data.folders if rid == root_id), True)
            menu.addAction("Rescan", lambda: self.rescan_requested.emit(root_id))
            menu.addAction(
                "Stop watching" if watched else "Watch for changes",
                lambda: self.watch_toggled.emit(root_id, not watched),
            )
            menu.addSeparator()
            menu.addAction("Remove from library…", lambda: self.remove_root_requested.emit(root_id))
            menu.addSeparator()
        if key is not None and key.startswith("tag:"):
            tag = key[len("tag:") :]
            menu.addAction(f"Delete tag “{tag}”…", lambda: self.delete_tag_requested.emit(tag))
            menu.addSeparator()
        elif key is not None and key.startswith("album:"):
            album = key[len("album:") :]
            menu.addAction(f"Delete album “{album}”…", lambda: self.delete_album_requested.emit(album))
            menu.addSeparator()
        menu.addAction("Add a folder…", self.add_folder_requested.emit)
        menu.exec(self.tree.viewport().mapToGlobal(pos))


__all__ = ["ALL_KEY", "ERRORS_KEY", "Sidebar", "SidebarData", "ViewSpec", "gather"]
