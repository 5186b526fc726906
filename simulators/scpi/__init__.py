"""SCPI instrument simulators (raw-socket VISA resources) and their command parser."""
