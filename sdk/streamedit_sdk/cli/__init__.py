"""The ``streamedit`` command: one module per command group, :mod:`.options` for what they
share (argument types, errors, the one mapping of options to an :class:`EditorConfig`)."""

from streamedit_sdk.cli.main import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
