"""Kernel micro-benchmark; the same as ``streamedit bench-kernels`` (takes the same options)."""

import sys

from streamedit_sdk.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench-kernels", *sys.argv[1:]]))
