"""What the operator sees: reports and the transparency log as pages for people.

Presentation on top of :mod:`mim_bridge.report` and :mod:`mim_bridge.pipeline.history`:
:mod:`.blocks` renders one node's events, :mod:`.report_page` the ``show`` and
``--dry-run --format table|json`` pages, :mod:`.history_page` the ``history`` page,
:mod:`.terminal` the columns, colours and sparklines, :mod:`.commands` the ``show`` and
``history`` command lines. Nothing here imports asyncio, the distribution client or the HTTP
stack.
"""

__all__: list[str] = []
