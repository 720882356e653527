"""Dialogs: settings, one page per class."""
