"""``python -m rackval`` is the ``rackval`` command."""

from rackval.cli import main

main()
