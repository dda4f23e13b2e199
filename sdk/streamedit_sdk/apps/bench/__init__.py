"""Benchmarks behind ``streamedit bench-kernels`` (and, later, ``streamedit bench``)."""
