"""The full-size viewer."""
