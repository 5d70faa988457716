"""refgraph: find memory leaks in Python programs."""

from . import _core

__version__ = _core.__version__
