"""Armada's Lookout v2 API (``internal/lookout/swagger.yaml``): jobs, groups, a job's data."""

from armada.lookout.api.reader import LookoutReader
from armada.lookout.api.routes import lookout_routes

__all__ = ["LookoutReader", "lookout_routes"]
