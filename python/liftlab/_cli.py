"""The ``liftlab`` command of the wheel (``[project.scripts]`` in pyproject.toml).

It runs the Rust binary's own entry point inside the extension (``liftlab._core._main``), so the
subcommands, their output and their exit codes are the binary's, ``serve`` included.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None) -> int:
    """Runs ``liftlab`` with ``argv`` (default ``sys.argv``; its first item, the program name, is
    ignored) and returns its exit code."""
    from liftlab._core import _main

    # Python's SIGINT handler only sets a flag that no Python code would look at while the
    # command runs: with the default action Ctrl-C stops a long command as it stops the binary,
    # and `serve` installs its own handler (drain, then exit 0).
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    args = sys.argv if argv is None else argv
    # the program name clap shows in usage lines: `liftlab`, also under `python -m liftlab._cli`
    return _main(["liftlab", *args[1:]])


if __name__ == "__main__":
    sys.exit(main())
