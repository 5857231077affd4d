"""`python -m bench [options]`: the Telegram intake benchmark (see bench/intake.py)."""

import sys

from bench.intake import main

sys.exit(main())
