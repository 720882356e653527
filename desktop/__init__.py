"""Shoebox, a desktop photo manager: ``desktop.app.main`` is the ``shoebox`` command."""

__version__ = "0.1.0"
