"""Ingest: getting files into the catalog — the formats registry, scanner and its worker processes, folder watcher, importer, metadata reader, the system trash, and the library health check."""
