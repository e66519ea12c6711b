"""What publishing and attaching a 20 MB layer adds to the first cold start, against
`unzip` of the same file, and what it adds to later cold starts (nothing: the merged /opt is reused).

Run with `make bench` (or `python -m benchmarks.bench_layers`).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from simulator import Simulator
from simulator.account import account_store
from simulator.layer_cache import LayerCache
from simulator.layers import LayerRegistry
from simulator.project import parse_project
from simulator.store import Store

from .common import figure, median

LAYER_MB = 20
COLD_N = 5


def make_layer(path: Path) -> None:
    """A layer shaped like pip's output: a few thousand files of source-like text, about 20 MB zipped."""
    rng = random.Random(7)
    words = [os.urandom(rng.randint(3, 9)).hex() for _ in range(5000)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        n = 0
        while archive.fp.tell() < LAYER_MB * 1024 * 1024:  # type: ignore[union-attr]
            text = " ".join(rng.choice(words) for _ in range(4000))
            archive.writestr(f"python/package_{n // 50}/module_{n}.py", text)
            n += 1


def unzip_baseline(layer: Path, runs: int = 3) -> float:
    samples = []
    for _ in range(runs):
        target = Path(tempfile.mkdtemp(prefix="lsim-unzip-"))
        began = time.perf_counter()
        subprocess.run(["unzip", "-q", str(layer), "-d", str(target)], check=True)
        samples.append((time.perf_counter() - began) * 1000)
        shutil.rmtree(target)
    return median(samples)


def publish_and_attach(layer: Path, root: Path) -> float:
    """PublishLayerVersion, then what the first cold start does with it: check, extract, merge."""
    (root / "src").mkdir(exist_ok=True)
    project = parse_project(
        {"functions": {"f": {"handler": "app.handler", "runtime": "python3.11", "code": "src", "layers": ["big:1"]}}},
        root=root,
    )
    store = Store(root / ".lsim")
    account = account_store(project.settings)  # layers belong to the account ($LSIM_HOME)
    cache = LayerCache(store, account)
    registry = LayerRegistry(store, project, cache.extract_layer, account=account)  # as the Simulator builds it
    began = time.perf_counter()
    registry.publish_layer_version("big", layer)
    cache.opt_dir(registry.resolve_all(project.functions["f"]))
    return (time.perf_counter() - began) * 1000


async def cold_starts(root: Path, layers: list[str]) -> list[float]:
    (root / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    project = parse_project(
        {"functions": {"f": {"handler": "app.handler", "runtime": "python3.11", "code": "src", "layers": layers}}},
        root=root,
    )
    samples = []
    async with Simulator(project, backend="docker") as simulator:
        await simulator.prepare("f")
        for _ in range(COLD_N):
            for pool in simulator.pools().values():
                await pool.close()
            began = time.perf_counter()
            result = await simulator.invoke("f", {})
            samples.append((time.perf_counter() - began) * 1000)
            assert result.ok and result.cold_start
    return samples


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="lsim-bench-layers-"))
    os.environ["LSIM_HOME"] = str(work / "home")  # the account's layers: never the developer's ~/.lsim
    try:
        layer = work / "layer.zip"
        make_layer(layer)
        size_mb = layer.stat().st_size / 1024 / 1024
        baseline = unzip_baseline(layer)
        first = publish_and_attach(layer, work)
        print(f"a {size_mb:.1f} MB layer zip:")
        figure(
            "  publish + attach (first cold start's share)",
            first,
            "ms",
            baseline,
            "`unzip -q` of the same zip; target <= 1.5x",
        )
        without = await cold_starts(work, [])
        with_layer = await cold_starts(work, ["big:1"])
        figure(
            "  later cold start with the layer attached",
            median(with_layer),
            "ms",
            median(without),
            "cold start of the same function without it; target ~1.0x (nothing added)",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
