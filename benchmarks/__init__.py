"""The benchmarks: `python -m benchmarks [--quick] [--only NAME ...] [--output BENCHMARKS.md]`.

Each module exposes `run(quick) -> Report` (see `benchmarks.stats`); `__main__` runs them in
order and `benchmarks.render` writes the file.
"""
