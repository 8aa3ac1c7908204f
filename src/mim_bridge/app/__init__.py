"""The top floor: the command line and its run modes.

:mod:`.cli` parses and dispatches; :mod:`.service` (the report loop), :mod:`.oneshot`
(``--once``, ``--dry-run``, ``--validate``) and :mod:`.check` (``--check``) are the run modes,
which never import each other and share :mod:`.wiring`; :mod:`.identity` and :mod:`.statelock`
are this installation's node name and state-directory lock; :mod:`.health` (the status file,
``/healthz``, ``/metrics``, the ``health`` command) and :mod:`.view` (``show``, ``history`` and
the ``--dry-run`` pages) are what an operator sees.
"""

__all__: list[str] = []
