"""Acceptance suites a technician runs (``rackval run RACK --suite NAME``)."""
