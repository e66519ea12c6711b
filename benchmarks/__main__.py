"""`python -m benchmarks`: run every benchmark in turn."""

import asyncio

from . import bench_invoke, bench_layers

print("== lsim benchmarks: each figure beside a baseline measured in the same run ==")
asyncio.run(bench_invoke.main())
asyncio.run(bench_layers.main())
