"""``python -m crystallize``: the same as the ``crystallize`` command."""

import sys

from crystallize.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
