"""Benchmarks (`make bench`): each module has `main(out_dir)` and writes its figures there."""
