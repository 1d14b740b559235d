"""Lookout: the web UI and its REST API over the job query store."""
