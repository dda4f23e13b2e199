"""Applications built on the engine: editing a file, the demo, evaluation, benchmarks, the
soak test and the live-stream runner. Their extra dependencies (plots, statistics) are imported
inside the functions that need them."""
