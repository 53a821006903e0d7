"""Benchmarks and the fits behind shipped parameters; each writes its JSON under bench/results/."""
