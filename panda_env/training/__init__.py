"""Training layer: data capture, classifier training and export, SAC, evaluation, comparison, benchmarks."""
