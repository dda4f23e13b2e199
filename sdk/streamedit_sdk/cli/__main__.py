"""``python -m streamedit_sdk.cli``: the ``streamedit`` command."""

from streamedit_sdk.cli.main import run

run()
