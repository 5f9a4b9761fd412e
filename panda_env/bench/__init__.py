"""Benchmarks and the seed demo's experiment: backend latency, env stepping rate, step profile, compare."""
