"""The scheduler service: keeps its job database in step with the log, runs the pure
scheduling core every cycle, appends its decisions, and serves the executor API and reports."""
