"""``armada dev``: every component in one process, on the embedded store, with simulated
clusters: for a first try, for tests and for load tests."""
