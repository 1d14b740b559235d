"""The REST gateway: Armada's public gRPC API as JSON over HTTP (grpc-gateway's mapping)."""

from armada.lookout.gateway.routes import Gateway, Handler
from armada.lookout.gateway.rules import Rule, http_rules

__all__ = ["Gateway", "Handler", "Rule", "http_rules"]
