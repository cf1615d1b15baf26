"""Graded exercises: starter modules to complete, their graders, and the tools that score them.

``exercises/chNN_<topic>.py`` are the starters (every body raises ``NotImplementedError``),
``exercises/graders/test_chNN_<topic>.py`` grade them, ``python -m exercises.grade`` prints
the score table, and :func:`check` gives one exercise's verdict inside a notebook.
"""

from exercises.check import check

__all__ = ["check"]
