"""The photo grid: its lazily paged model, the delegate that paints cells, the thumbnail loader and the timeline grouping."""
