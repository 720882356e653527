"""Catalog: the SQLite database, its schema and migrations, the one writer, filters and the query parser, the undo history and every edit, backups, and the typed reads the GUI pages through."""
