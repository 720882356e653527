"""Shoebox benchmarks: ``make bench`` runs them all, writes JSON and prints a table."""
