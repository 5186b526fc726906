"""Keep Python's cyclic garbage collector off what a finished rack run still holds.

When a rack run's last test is done, the process holds a few hundred thousand
objects that live until it exits: the collected items and their reports, the
rack model, the drivers' MIB trees, every module imported. Each full
collection from then on walks all of them and finds almost nothing, and there
are several: pytest collects twice as it unconfigures (to report what
finalizers raise), and the allocations of the terminal summary (hypothesis's
plugin imports hypothesis there) trigger more. On the hall rack that was
~0.1 s of the run's end with pytest's bytecode cache in place, and 0.6-0.9 s
when the summary's imports were compiled afresh (benchmarks/README.md, sixth
round).

:func:`settle` collects once, so the run's own cyclic garbage is freed and any
error its finalizers raise still reaches pytest's report, then freezes the
survivors (``gc.freeze``): later collections see only objects made after it.
:func:`release` puts them back under the collector, for a caller that goes on
in the same process after ``pytest.main`` returns.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Free the garbage made so far, then keep every survivor out of later collections."""
    gc.collect()
    gc.freeze()


def release() -> None:
    """Undo :func:`settle`: frozen objects are collectable again."""
    gc.unfreeze()
