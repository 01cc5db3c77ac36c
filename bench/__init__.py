"""Benchmarks (`make bench`): figures written to bench/results.json, explained in bench/README.md."""
