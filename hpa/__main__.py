"""``python -m hpa``: the same as the ``hpa`` command."""

import sys

from hpa.cli import main

sys.exit(main())
