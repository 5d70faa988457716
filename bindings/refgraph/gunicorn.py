"""A gunicorn hook that makes every worker write a heap dump on ``SIGUSR2`` (see ``refgraph.dump_on_signal``).

As a config module::

    gunicorn -c python:refgraph.gunicorn app:app
    kill -USR2 <worker pid>        # writes $REFGRAPH_DUMP_DIR/<pid>-<time>.rgd (default: the temp directory)

or from your own config file::

    from refgraph.gunicorn import post_worker_init

The hook is ``post_worker_init``, not ``post_fork``: a worker resets its signals to the defaults in
``init_signals()``, which runs after ``post_fork`` (a handler installed there, or by an app imported with
``--preload``, is gone and ``SIGUSR2`` would then kill the worker), and before ``post_worker_init``. Signal the
workers, not the master: the master's ``SIGUSR2`` means "upgrade the executable".
"""

from __future__ import annotations

import os
import signal
import tempfile

__all__ = ["post_worker_init"]


def post_worker_init(worker):
    """gunicorn's ``post_worker_init`` hook: install ``dump_on_signal(SIGUSR2, $REFGRAPH_DUMP_DIR)``."""
    from ._signal import dump_on_signal

    directory = os.environ.get("REFGRAPH_DUMP_DIR") or tempfile.gettempdir()
    dump_on_signal(signal.SIGUSR2, directory)
    worker.log.info("refgraph: kill -USR2 %s writes a heap dump to %s", worker.pid, os.path.abspath(directory))
