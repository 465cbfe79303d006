"""`python -m bench` (or `make bench`): every benchmark with its defaults, each beside its baseline."""

from bench import bench_fetch, bench_merge, bench_sync

if __name__ == "__main__":
    bench_fetch.main(["--issues", "3000", "--latency-ms", "250"])
    bench_merge.main(["--issues", "2000", "--batch-sizes", "100,500,1000"])
    bench_sync.main(["--issues", "3000", "--latency-ms", "250"])
