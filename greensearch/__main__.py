"""``python -m greensearch``."""

import sys

from greensearch.cli import main

sys.exit(main())
