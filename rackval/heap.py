"""Keep Python's cyclic garbage collector off what a rack run holds for its whole length.

Once collection is done, the process holds ~145,000 tracked objects on the
hall rack that live as long as the run: the collected items, the rack model,
the drivers' MIB trees, every module imported. Each full collection the tests'
allocations trigger walks all of them and finds almost nothing: five of them
took ~0.25 s of the hall run's tests (one during the first item, while the rack
is read). :func:`keep` freezes them (``gc.freeze``) when collection finishes;
the collections during the tests then walk only what the tests made. It does
not collect first (that alone would cost ~0.07 s): the cyclic garbage
collection leaves (~100 objects there) waits for :func:`release`.

When a rack run's last test is done, it holds what the tests made too (their
reports among them) until it exits. Each full collection from then on walks
all of it and finds almost nothing, and there are several: pytest collects
twice as it unconfigures (to report what finalizers raise), and the
allocations of the terminal summary (hypothesis's plugin imports hypothesis
there) trigger more. On the hall rack that was
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


def keep() -> None:
    """Keep every object alive now out of later collections (no collection first)."""
    gc.freeze()


def settle() -> None:
    """Free the garbage made so far, then keep every survivor out of later collections."""
    gc.collect()
    gc.freeze()


def release() -> None:
    """Undo :func:`keep` and :func:`settle`: frozen objects are collectable again."""
    gc.unfreeze()
