"""refgraph: find memory leaks in Python programs."""

from . import _core

__version__ = _core.__version__
from .leakcheck import LeakError, leak_check, no_leaks
