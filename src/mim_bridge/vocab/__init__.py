"""The shared vocabulary at the bottom of the bridge: what every layer names the same way.

:mod:`.events` (the event type), :mod:`.names` (the open-source MongooseIM names that may leave
the machine), :mod:`.forms` (the shapes of versions, uptimes and cluster ids) and
:mod:`.durations`. The collector, the anonymity gate, the GA4 sender and the state files import
these; they import nothing of the bridge.
"""

__all__: list[str] = []
