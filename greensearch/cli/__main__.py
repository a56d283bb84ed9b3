"""``python -m greensearch.cli``."""

import sys

from greensearch.cli import main

sys.exit(main())
