"""``python -m exercises`` is ``python -m exercises.grade``."""

import sys

from exercises.grade import main

sys.exit(main())
