"""The public API server: Armada's gRPC services (Submit, QueueService, Event, Jobs,
RetryPolicyService) on top of the event log and its views."""
