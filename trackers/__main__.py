"""``python -m trackers`` runs the ``trackers`` command."""

import sys

from trackers.cli import main

sys.exit(main())
