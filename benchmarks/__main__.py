"""Run every benchmark module (or those named on the command line); figures go to
results/bench/ (or --out)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import time
from pathlib import Path

import benchmarks


def discover() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="e.g. bench_lbptop (default: all)")
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or discover():
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").main(args.out)
        print(f"== {name}: {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
