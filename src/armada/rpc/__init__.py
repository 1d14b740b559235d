"""Our own gRPC contracts (the ones ``armada-client`` does not ship), generated into ``gen/``.

* ``executorapi.proto``: scheduler <-> executor (lease stream and run event reports), modelled
  on Armada's ExecutorApi.
* ``scheduler_reporting.proto``: Armada's ``schedulerobjects.SchedulerReporting`` service
  (scheduling, queue and job reports), wire-compatible with Armada's.

``usage.py`` reads a ``RunUtilisation`` (for both ends). Regenerate with
``scripts/generate_protos.sh`` after editing a ``.proto`` file.
"""
