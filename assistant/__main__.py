"""Lets `python -m assistant` stand in for the console script."""

from assistant.cli.commands import main

raise SystemExit(main())
