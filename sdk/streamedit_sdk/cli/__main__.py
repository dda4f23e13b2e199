"""``python -m streamedit_sdk.cli``: the ``streamedit`` command."""

import sys

from streamedit_sdk.cli.main import main

sys.exit(main())
