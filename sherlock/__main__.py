"""``python -m sherlock`` — the same as the ``sherlock`` command."""

import sys

from sherlock.cli import main

sys.exit(main())
