"""The ``skmmat`` command line: demo, table1, train, predict, info and keygen.

Run ``skmmat --help`` (or ``python -m skmmat --help``) for the commands.
User mistakes (a bad path, a bad argument, unreadable data) end with a
one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

from ._experiments import demo, table1
from ._models import info, keygen, predict, train
from ._options import UserError, add_training_arguments, training_options
from ._parser import build_parser

__all__ = ["add_training_arguments", "main", "training_options"]

_COMMANDS = {
    "demo": demo,
    "table1": table1,
    "train": train,
    "predict": predict,
    "info": info,
    "keygen": keygen,
}


def main(argv=None):
    """Entry point of the ``skmmat`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on a user error.
    """
    args = build_parser().parse_args(argv)
    try:
        _COMMANDS[args.command](args)
    except (UserError, ValueError, FileNotFoundError, ImportError, OSError) as exc:
        print(f"skmmat {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skmmat {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
