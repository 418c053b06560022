"""`pingfan` and `python -m monitor`: the command line, imported only when it runs.

The console script imports this module; so does every process the daemon spawns (its scoring
worker re-runs the script that started the parent), and there it must cost nothing: the CLI
and its libraries are imported inside `main()`.
"""

from __future__ import annotations

import sys


def main() -> int:
    from monitor.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
