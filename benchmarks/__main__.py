"""`python -m benchmarks`: run every benchmark in turn."""

import asyncio

from . import (
    bench_api,
    bench_cli,
    bench_concurrency,
    bench_dependencies,
    bench_endpoints,
    bench_http,
    bench_invoke,
    bench_layers,
    bench_loadtest,
    bench_logs,
    bench_queues,
    bench_runtimes,
    bench_sam,
    bench_sqs,
    bench_vpc,
    bench_warm_cli,
)

print("== lsim benchmarks: each figure beside a baseline measured in the same run ==")
asyncio.run(bench_invoke.main())
asyncio.run(bench_logs.main())
asyncio.run(bench_layers.main())
asyncio.run(bench_vpc.main())
asyncio.run(bench_api.main())
bench_sqs.main()
bench_concurrency.main()
asyncio.run(bench_loadtest.main())
bench_sam.main()
bench_cli.main()
bench_warm_cli.main()
asyncio.run(bench_dependencies.main())
asyncio.run(bench_runtimes.main())
bench_endpoints.main()
asyncio.run(bench_queues.main())
asyncio.run(bench_http.main())
