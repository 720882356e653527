"""Application and small UI icons.

The app icon comes from ``resources/`` (the SVG, with the rendered PNG as a
fallback for Qt builds without the SVG image plugin). Small icons come from
the desktop's icon theme when it has them (so Shoebox looks native on
GNOME/KDE) and otherwise from ``QStyle``'s standard icons, which every
platform has, so no button is ever left blank.
"""

from __future__ import annotations

import functools

from PySide6.QtGui import QIcon, QImageReader
from PySide6.QtWidgets import QApplication, QStyle

from desktop.core.runtime.bundled import bundled_file

APP_ICON_SVG = bundled_file("resources/shoebox.svg")
APP_ICON_PNG = bundled_file("resources/shoebox-256.png")

_SP = QStyle.StandardPixmap

# name -> (freedesktop theme name, QStyle fallback)
_ICONS: dict[str, tuple[str, QStyle.StandardPixmap]] = {
    "folder": ("folder", _SP.SP_DirIcon),
    "folder-add": ("folder-new", _SP.SP_FileDialogNewFolder),
    "folder-open": ("folder-open", _SP.SP_DirOpenIcon),
    "remove": ("list-remove", _SP.SP_DialogDiscardButton),
    "refresh": ("view-refresh", _SP.SP_BrowserReload),
    "download": ("download", _SP.SP_ArrowDown),
    "file": ("document-open", _SP.SP_FileIcon),
    "trash": ("edit-clear", _SP.SP_TrashIcon),
    "info": ("dialog-information", _SP.SP_MessageBoxInformation),
    "warning": ("dialog-warning", _SP.SP_MessageBoxWarning),
    "error": ("dialog-error", _SP.SP_MessageBoxCritical),
    "close": ("window-close", _SP.SP_TitleBarCloseButton),
    "previous": ("go-previous", _SP.SP_ArrowLeft),
    "next": ("go-next", _SP.SP_ArrowRight),
    "fullscreen": ("view-fullscreen", _SP.SP_TitleBarMaxButton),
    "zoom-fit": ("zoom-fit-best", _SP.SP_TitleBarNormalButton),
    "image": ("image-x-generic", _SP.SP_FileIcon),
    "play": ("media-playback-start", _SP.SP_MediaPlay),
    "pause": ("media-playback-pause", _SP.SP_MediaPause),
    "volume": ("audio-volume-high", _SP.SP_MediaVolume),
    "muted": ("audio-volume-muted", _SP.SP_MediaVolumeMuted),
}


@functools.cache
def app_icon() -> QIcon:
    """The Shoebox icon (empty QIcon only if the resources folder is missing)."""
    # Without the qsvg image plugin an SVG icon paints nothing; the PNG always works.
    if APP_ICON_SVG.is_file() and b"svg" in [bytes(f.data()) for f in QImageReader.supportedImageFormats()]:
        return QIcon(str(APP_ICON_SVG))
    return QIcon(str(APP_ICON_PNG)) if APP_ICON_PNG.is_file() else QIcon()


def icon(name: str) -> QIcon:
    """A small icon by Shoebox name (see ``_ICONS``): the theme's, else the style's."""
    theme_name, fallback = _ICONS.get(name, (name, _SP.SP_FileIcon))
    if QIcon.hasThemeIcon(theme_name):
        return QIcon.fromTheme(theme_name)
    style = QApplication.style()
    return style.standardIcon(fallback) if style is not None else QIcon()


__all__ = ["APP_ICON_PNG", "APP_ICON_SVG", "app_icon", "icon"]
