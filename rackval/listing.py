"""``rackval list RACK``: the suites and parametrized items a run would execute.

Collection only: pytest collects the suites with the rack file (so items are
parametrized exactly as in a run) but no test runs and no simulator starts,
so the rack is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rackval.items import item_of

# markers that say how pytest runs a test, not what it does to the rack
PLUMBING_MARKERS = {"parametrize", "timeout", "usefixtures", "filterwarnings", "skipif", "xfail"}


@dataclass(frozen=True)
class ListedTest:
    nodeid: str
    suite: str
    function: str  # test function name, e.g. test_outlet_current
    item: str | None  # the rack item id, e.g. pdu-a/3 (None for an unparametrized test)
    devices: tuple[str, ...]
    markers: tuple[str, ...]


@dataclass
class Listing:
    tests: list[ListedTest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def suites(self) -> dict[str, dict[str, list[ListedTest]]]:
        """suite -> test function -> its parametrized items, in collection order."""
        out: dict[str, dict[str, list[ListedTest]]] = {}
        for t in self.tests:
            out.setdefault(t.suite, {}).setdefault(t.function, []).append(t)
        return out


class _Collector:
    name = "rackval-listing"

    def __init__(self) -> None:
        self.listing = Listing()

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        from rackval.progress import silence_pytest

        silence_pytest(config)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.listing.errors.append(f"{report.nodeid}: {report.longreprtext.strip()}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from rackval.suites import suite_of

        for item in session.items:
            rack_items = item_of(item)
            suite = suite_of(item)
            self.listing.tests.append(
                ListedTest(
                    nodeid=item.nodeid,
                    suite=suite,
                    function=getattr(item, "originalname", item.name),
                    item=", ".join(i.id for i in rack_items) or None,
                    devices=tuple(sorted({i.device for i in rack_items})),
                    markers=tuple(sorted({m.name for m in item.iter_markers()} - PLUMBING_MARKERS)),
                )
            )


def collect(args: list[str], plugins: list[object] | None = None) -> tuple[int, Listing]:
    """Run pytest's collection with ``args`` (suite paths, --rack, -k...); no test runs."""
    collector = _Collector()
    code = pytest.main(
        ["--collect-only", "-p", "no:cacheprovider", *args],
        plugins=[collector, *(plugins or [])],
    )
    return int(code), collector.listing


def render(listing: Listing, console: object) -> None:
    """Print a listing: per suite, each test function with its items."""
    print_ = console.print  # type: ignore[attr-defined]
    for suite, functions in listing.suites().items():
        count = sum(len(v) for v in functions.values())
        print_(f"suite {suite}: {count} tests", markup=False, highlight=False)
        for function, tests in functions.items():
            items = [t.item for t in tests if t.item]
            marks = {m for t in tests for m in t.markers}
            flag = f" [{', '.join(sorted(marks))}]" if marks else ""
            if items:
                print_(
                    f"  {function}{flag} ({len(items)}): {' '.join(items)}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                print_(f"  {function}{flag}", markup=False, highlight=False)
    print_(f"{len(listing.tests)} tests in total", markup=False, highlight=False)
    for error in listing.errors:
        print_(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
