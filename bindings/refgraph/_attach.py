"""What ``refgraph attach PID`` runs inside the target process (injected by gdb; see cli/cmd_attach.cpp).

``run`` takes a snapshot, saves it, and writes one status line to a file the command reads back: ``ok <objects>``
or ``error: <what happened>``. It never raises: the code it interrupted must carry on as if nothing happened.
"""

from __future__ import annotations


def run(dump_path, status_path):
    try:
        from ._snapshot import snapshot

        snap = snapshot(tag="refgraph attach")
        objects = len(snap)
        snap.save(dump_path)
        del snap
        status = f"ok {objects}"
    except BaseException as e:  # noqa: BLE001 - reported to the command, never raised into the target
        status = f"error: {type(e).__name__}: {e}"
    write_status(status_path, status)


def write_status(path, status):
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(" ".join(status.split()) + "\n")
    except OSError:
        pass  # the command then reports that the target wrote no status
