"""Benchmarks and maintenance tools of porewatch."""
