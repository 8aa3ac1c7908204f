"""One report, from collection to sending: which nodes may be reported and why (:mod:`.consent`),
collecting, gating, writing and sending them (:mod:`.reporter`), the stanza totals kept between
reports (:mod:`.totals`), the transparency log of what was sent (:mod:`.history`) and when the
next report is due (:mod:`.schedule`). The run modes in :mod:`mim_bridge.app` drive it.
"""

__all__: list[str] = []
