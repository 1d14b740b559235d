"""The executor agent (one per cluster): leases runs from the scheduler, turns them into pods
through a cluster backend (fake, Kubernetes, local processes) and reports what happens."""
