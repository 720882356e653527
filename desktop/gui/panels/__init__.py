"""Side panels: the sidebar (folders, tags, albums), the info panel and the status panel."""
