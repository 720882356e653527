"""The sidebar tree: counts, lazily built folder trees, in-place count updates during a scan."""

from __future__ import annotations

from typing import Any

from desktop.gui.panels.sidebar import Sidebar, SidebarData, ViewSpec


def _data(per_dir: dict[str, int]) -> SidebarData:
    total = sum(per_dir.values())
    return SidebarData(
        views={"view:all": total},
        folders=[(1, "/photos/Pictures", True, per_dir)],
        tags=[("Trips", 1), ("Trips/Road", 2)],
    )


def _child_labels(sidebar: Sidebar, key: str) -> list[str]:
    item = sidebar._items[key]
    return [item.child(r, 0).text() for r in range(item.rowCount())]


def test_folders_are_built_when_opened_and_counts_update_in_place(qtbot: Any) -> None:
    sidebar = Sidebar(library=None)  # type: ignore[arg-type]  # populate needs no catalog
    qtbot.addWidget(sidebar)
    per_dir = {"": 2, "2023": 0, "2023/July": 5, "2023/June": 1, "2024": 3}
    sidebar.populate(_data(per_dir))
    root = "root:1"
    assert sidebar.count_for(root) == 11 and sidebar.count_for("folder:/photos/Pictures/2023") == 6
    assert sidebar.count_for("tag:Trips/Road") == 2  # counted even before its parent is opened
    assert "folder:/photos/Pictures/2023" not in sidebar._items  # not built while collapsed

    sidebar.tree.expand(sidebar._items[root].index())
    assert _child_labels(sidebar, root) == ["2023", "2024"]
    assert sidebar._items[root].child(0, 1).text() == "6"
    seen: list[ViewSpec] = []
    sidebar.view_selected.connect(seen.append)
    sidebar.tree.setCurrentIndex(sidebar._items["folder:/photos/Pictures/2024"].index())
    assert seen and seen[-1].title == "2024" and str(seen[-1].filter.folder).endswith("Pictures/2024")

    # a scan adds photos to known folders: same entries, new counts, the same items kept
    item_2023 = sidebar._items["folder:/photos/Pictures/2023"]
    sidebar.populate(_data({**per_dir, "2023/July": 50}))
    assert sidebar._items["folder:/photos/Pictures/2023"] is item_2023
    assert sidebar._items[root].child(0, 1).text() == "51" and sidebar.count_for(root) == 56
    assert sidebar.current_spec().key == "folder:/photos/Pictures/2024"  # selection kept

    # a collapsed subtree gets the newest counts when it is finally opened
    sidebar.populate(_data({**per_dir, "2023/July": 70}))
    sidebar.tree.expand(item_2023.index())
    assert _child_labels(sidebar, "folder:/photos/Pictures/2023") == ["July", "June"]
    assert item_2023.child(0, 1).text() == "70"

    # a new folder changes the shape: rebuilt, and what was open stays open
    sidebar.populate(_data({**per_dir, "2025": 4}))
    assert _child_labels(sidebar, root) == ["2023", "2024", "2025"]
    assert sidebar.tree.isExpanded(sidebar._items["folder:/photos/Pictures/2023"].index())
    assert sidebar.current_spec().key == "folder:/photos/Pictures/2024"
