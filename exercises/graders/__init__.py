"""Graders: ``test_chNN_<topic>.py`` grades the starter module ``exercises/chNN_<topic>.py``."""
