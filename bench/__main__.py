"""`python -m bench` (or `make bench`): every benchmark with its defaults, each beside its baseline.

Not run here, as they take many minutes: `python -m bench.mutation`, the mutation check of the
safety-critical code (survivors and a summary; see its --help).
"""

from bench import (
    bench_cli,
    bench_emulator,
    bench_fetch,
    bench_merge,
    bench_rate_limit,
    bench_run_cost,
    bench_sync,
)

if __name__ == "__main__":
    bench_emulator.main(["--issues", "5000", "--seconds", "3"])
    bench_fetch.main(["--issues", "5000", "--latency-ms", "100"])
    bench_rate_limit.main(["--issues", "20000"])
    bench_merge.main(["--issues", "2000", "--batch-sizes", "100,500,1000"])
    bench_sync.main(["--issues", "3000", "--latency-ms", "250"])
    bench_cli.main(["--runs", "7"])
    bench_run_cost.main(["--issues", "3000"])
