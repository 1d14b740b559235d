"""The scheduling core: a pure function from a snapshot of jobs, nodes and queues to
decisions (leases, preemptions, and the reason for every job left queued). No I/O, no clock."""
