"""The command line: `assistant COMMAND`."""

from assistant.cli.commands import main  # noqa: F401  (the console script: assistant.cli:main)
