"""Benchmarks of gridmap: run each as ``python -m bench.<name>``."""
