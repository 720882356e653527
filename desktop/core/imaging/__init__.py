"""Imaging: decoding pictures (Pillow, HEIF, orientation) and the content-keyed thumbnail and preview caches. Knows nothing of the catalog."""
