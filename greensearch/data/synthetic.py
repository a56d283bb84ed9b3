"""``python -m greensearch.data.synthetic``: regenerate the embedded vulnsynth files."""

import sys

from greensearch.data._synthetic import main

if __name__ == "__main__":
    sys.exit(main())
