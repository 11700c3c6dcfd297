"""Entry point of ``python -m gisapp``."""

from __future__ import annotations

import sys

from gisapp.cli import main

if __name__ == "__main__":
    sys.exit(main())
