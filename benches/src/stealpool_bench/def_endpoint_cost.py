"""Where a CPU-bound ``def`` endpoint's cost goes: the variants of ``def_endpoint_server``, alternated.

    python -m stealpool_bench.def_endpoint_cost [--seconds 3] [--rounds 5] [--connections 16]
        [--variants async,bare,floor,stealpool,anyio] [--switch-interval 0.005]

Each sample starts a fresh server for one variant, warms it up for 1 s,
then loads ``/work`` for SECONDS (wrk, or the Python client) and reads the
server's CPU time and context switches before and after (``GET /cpu``).
Variants alternate round by round. Printed: per request, each variant's
CPU (all threads, the loop's thread, the others), voluntary context
switches and requests/s, median and range over rounds; then each variant
against the one before it in the list, the difference taken within each
round. benches/README.md has the figures and what they mean.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import urllib.request
from collections.abc import Sequence

from .def_endpoint_server import VARIANTS
from .load import run_load
from .server_process import serving

SERVER = "stealpool_bench.def_endpoint_server"
WARMUP_S = 1
# What the summary prints per variant: per-request figures, then the throughput.
FIGURES = ("cpu_us", "loop_us", "workers_us", "voluntary_switches", "requests_per_s")


def read_cpu(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/cpu", timeout=30) as answer:
        figures: dict[str, float] = json.load(answer)
        return figures


def per_request(before: dict[str, float], after: dict[str, float], requests: float) -> dict[str, float]:
    """The server's figures between two ``/cpu`` readings, per request served between them."""
    cpu = (after["cpu_s"] - before["cpu_s"]) / requests * 1e6
    loop = (after["loop_cpu_s"] - before["loop_cpu_s"]) / requests * 1e6
    return {
        "cpu_us": cpu,
        "loop_us": loop,
        "workers_us": cpu - loop,
        "voluntary_switches": (after["voluntary_switches"] - before["voluntary_switches"]) / requests,
    }


def sample(variant: str, switch_interval: float, seconds: int, connections: int) -> dict[str, float]:
    with serving(SERVER, variant, str(switch_interval)) as port:
        run_load(port, ["/work"], connections, WARMUP_S)
        before = read_cpu(port)
        load = run_load(port, ["/work"], connections, seconds)
        after = read_cpu(port)
    if load.errors or load.requests_per_s <= 0:
        raise RuntimeError(f"{variant}: {load.errors} errors, {load.requests_per_s:.0f} requests/s")
    figures = per_request(before, after, load.requests_per_s * seconds)
    figures["requests_per_s"] = load.requests_per_s
    return figures


def spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3g} ({min(values):.3g} to {max(values):.3g})"


def summary(samples: dict[str, list[dict[str, float]]]) -> list[str]:
    lines = ["per request, median (lowest to highest round):"]
    for variant, runs in samples.items():
        cells = [f"{figure} {spread([run[figure] for run in runs])}" for figure in FIGURES]
        lines.append(f"  {variant:<20} " + "  ".join(cells))
    lines.append("each variant against the one before it, within each round (CPU per request, us):")
    names = list(samples)
    for earlier, later in zip(names, names[1:]):
        total = [b["cpu_us"] - a["cpu_us"] for a, b in zip(samples[earlier], samples[later])]
        loop = [b["loop_us"] - a["loop_us"] for a, b in zip(samples[earlier], samples[later])]
        lines.append(f"  {later} - {earlier}: all threads {spread(total)}, loop thread {spread(loop)}")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m stealpool_bench.def_endpoint_cost", description=__doc__)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--variants", default="async,bare,floor,stealpool,anyio")
    parser.add_argument("--switch-interval", type=float, default=sys.getswitchinterval())
    args = parser.parse_args(argv)
    args.variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in args.variants if name not in VARIANTS]
    if unknown or not args.variants:
        parser.error(f"--variants: choose from {', '.join(VARIANTS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in args.variants}
    for round_index in range(args.rounds):
        for variant in args.variants:
            figures = sample(variant, args.switch_interval, args.seconds, args.connections)
            samples[variant].append(figures)
            rounded = {name: round(value, 2) for name, value in figures.items()}
            print(f"round {round_index + 1}/{args.rounds} {variant}: {rounded}", file=sys.stderr, flush=True)
    print("\n".join(summary(samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
