"""Every setting of the bridge in one frozen :class:`Config`, and where each one came from.

Theory of operation. Each option has one name used everywhere: the flag ``--periodic-report``,
the environment variable ``BRIDGE_PERIODIC_REPORT``, the key ``periodic_report`` of a ``[bridge]``
table in the TOML file. Four layers are read and the first that sets an option wins::

    command line  >  BRIDGE_* environment  >  TOML file  >  defaults

The TOML file may be MongooseIM's own ``mongooseim.toml``: its
``[services.service_mongoose_system_metrics]`` section is read with MongooseIM's names and
meanings (``initial_report``/``periodic_report`` in milliseconds, ``report`` a boolean,
``tracking_id = {id, secret}``); a ``[bridge]`` table in the same file wins over that section.

Raw values are strings (flags, environment) or TOML values; each option's parser turns them into
typed values or raises :class:`ConfigError` naming the source, so a bad value is reported as
``BRIDGE_PERIODIC_REPORT='5x': ...`` and not as a traceback. Only :func:`load` touches the outside
world (the TOML file, the cookie file, the current directory).

The options live in :mod:`.options`, the loading in :mod:`.loading`, the TOML file (and
MongooseIM's own ``mongooseim.toml``) in :mod:`.mongooseim_toml`, the cookie file in
:mod:`.cookie`; this package's namespace is what the rest of the bridge uses.
"""

from mim_bridge.config.loading import Config, LocalConfig, load, load_local
from mim_bridge.config.options import BY_NAME, OPTIONS, ConfigError, Mode, Option, parse_bool

__all__ = ["BY_NAME", "OPTIONS", "Config", "ConfigError", "LocalConfig", "Mode", "Option", "load",
           "load_local", "parse_bool"]
