"""Command lines: ``armada`` (run the components) and ``armadactl`` (use the system)."""
