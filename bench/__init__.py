"""`make bench`: gas and throughput figures, written to bench/results.json."""
