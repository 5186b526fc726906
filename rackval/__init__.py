"""rackval: hardware-in-the-loop rack validation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rackval")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+src"
