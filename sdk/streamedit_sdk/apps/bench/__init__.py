"""Benchmarks: ``streamedit bench`` (:mod:`.pipeline`, :mod:`.report`), ``bench-kernels``
(:mod:`.kernels`), ``soak`` (:mod:`.soak`), and the machine and memory they record."""
