"""The headless command line: ``python main.py COMMAND ...``.

Each command module registers its sub-commands with ``register(subparsers)``;
a handler takes ``(args, ctx)`` and returns the exit code. Errors a user can
act on are raised as ``LibraryError``/``CliError`` and printed to stderr with
exit code 1; argparse handles usage errors with exit code 2.
"""
