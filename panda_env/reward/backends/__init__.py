"""Reward backends, one module each; imported lazily so a missing engine only fails when asked for."""
