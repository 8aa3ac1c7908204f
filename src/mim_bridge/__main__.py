"""``python -m mim_bridge``: the same as the ``mim-metrics-bridge`` command."""

import sys

from mim_bridge.entry import main

sys.exit(main())
