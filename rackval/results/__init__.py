"""Results: every test outcome and measurement of a run, stored as it happens, and exported.

- :mod:`rackval.results.schema`: the tables (SQLAlchemy Core) and their version.
- :mod:`rackval.results.store`: writing records one committed transaction at a time; queries.
- :mod:`rackval.plugin.results`: the pytest plugin that feeds the store during a run.
- :mod:`rackval.results.exporters`: the exporter registry (name -> writer); the built-in
  writers are :mod:`~rackval.results.junit`, :mod:`~rackval.results.ocptv`, :mod:`~rackval.results.html`.
- :mod:`rackval.results.cli`: ``rackval results list|show`` and ``rackval report``.
"""

from __future__ import annotations
