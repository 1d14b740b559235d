"""Views of the log: materialised state rebuilt by replaying it (the job query store, queues,
retry policies, executor settings)."""
