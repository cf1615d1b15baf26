"""System Design Lab reference package: chapters 10-12 of *System Design Interview* as code.

Subpackages
-----------
core          clock, unique ids, deterministic simulation, typed errors
storage       ports (Protocols) and backends: memory, redis (fakeredis or a real server)
notification  chapter 10: the notification system

Nothing connects, reads the wall clock or draws a random number at import time.
"""

__version__ = "0.1.0"
