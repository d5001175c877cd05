"""Run every benchmark in turn with its default (issue-sized) settings: ``python -m bench``.

Each module is also runnable alone (``python -m bench.bench_service_circle --help``); figures
and the commands that produced them are in bench/README.md.
"""

from __future__ import annotations

import runpy
import sys
import time

MODULES = (
    "bench.bench_synth",
    "bench.bench_api",
    "bench.bench_service_circle",
    "bench.bench_venues",
    "bench.bench_lead_zones",
    "bench.bench_field_edits",
    "bench.bench_split",
    "bench.bench_events",
    "bench.bench_grids",
)


def main() -> None:
    """Run the benchmarks named on the command line, or all of them."""
    wanted = [m for m in MODULES if not sys.argv[1:] or m.split(".")[-1] in sys.argv[1:]]
    for module in wanted:
        print(f"\n===== {module} =====", flush=True)
        started = time.perf_counter()
        sys.argv = [module]
        try:
            runpy.run_module(module, run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (0, None):
                print(f"{module} exited with {exc.code}", flush=True)
        print(f"===== {module}: {time.perf_counter() - started:.0f} s =====", flush=True)


if __name__ == "__main__":
    main()
