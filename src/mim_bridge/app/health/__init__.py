"""Health of the running bridge, for probes that must not touch the cluster or Google.

* :mod:`.status` — the status file's format and the one judgement of liveness and readiness
  (standard library only: the ``health`` command imports nothing else);
* :mod:`.monitor` — the service's side: counters, timings, the status file it keeps;
* :mod:`.http` — ``/healthz``, ``/readyz`` and ``/metrics`` (Prometheus) on ``--http-listen``;
* :mod:`.command` — ``mim-metrics-bridge health``, for probes that cannot do HTTP.

This package deliberately imports nothing at import time.
"""

__all__: list[str] = []
