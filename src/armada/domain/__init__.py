"""The domain: jobs, runs, queues, priority classes, resources and the events that change them.

Pure data and pure functions only. Nothing here does I/O, reads the clock or knows protobuf.
"""
