"""Shoebox entry point: ``python main.py`` opens the app; ``python main.py COMMAND`` runs headless."""

from desktop.app import main

if __name__ == "__main__":
    raise SystemExit(main())
