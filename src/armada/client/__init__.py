"""The project's own client for the public gRPC API, used by armadactl."""
