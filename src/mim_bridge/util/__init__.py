"""General helpers with no knowledge of MongooseIM or GA4: atomic, bounded file I/O
(:mod:`.atomic_file`, :mod:`.localfiles`), locks taken within a deadline (:mod:`.filelock`) and
running blocking work off the event loop (:mod:`.threads`)."""

__all__: list[str] = []
