"""The ``sherlock`` command line (``sherlock.cli.main``): core commands in ``commands``, the evaluation commands in
``experiments``, text reports in ``reports``, progress bars and tables in ``output``."""

from sherlock.cli.main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
