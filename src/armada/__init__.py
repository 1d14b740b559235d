"""Armada in Python: a multi-cluster batch job scheduler for Kubernetes.

The package is layered (see docs/architecture.md and the import-linter contract in
pyproject.toml): ``domain`` at the bottom, then ``scheduling`` (the pure scheduler core),
then ``eventlog``/``views`` (storage), then the services (``server``, ``schedulerservice``,
``executor``), with ``client``/``cli`` on top talking only over the public API.
"""

__version__ = "0.1.0"
