"""`python -m analysis.cli` runs the `review` command."""

import sys

from . import main

sys.exit(main())
