"""`segflow diff` on both engines: hand-worked changes against a base commit of a git repo.

The warehouse holds the hand-made retailer of tests/segments/fixture_data.py built as of D
(population A, B, C, G). Revenue up to D: A 170, B 30, C 0, G 5 (population total 205).
Base segments (committed):
  buyers      orders > 1                          -> {A, B}
  big_buyers  buyers and revenue > 20             -> {A, B}   (refers to buyers)
  vegan       attribute diet = vegan              -> {A}
  female      gender f                            -> {A}
  tiers       gold revenue >= 150, silver orders >= 1, bronze gender present
              -> {A: gold, B: silver, G: bronze}
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from orchestration.runner import run_build
from segflow.review.diff import compute
from segflow.review.render import as_json, as_markdown, as_text
from segflow.warehouse import open_warehouse
from tests.conftest import ENGINES, compile_segments, configure_project, project_per_engine
from tests.feedfiles import deliver
from tests.segments.fixture_data import CUSTOMERS, D, write_feeds

BASE = {
    "buyers": "title: Buyers\nrules: {metric: orders, gt: 1}\n",
    "big_buyers": (
        "title: Big buyers\nrules:\n  all:\n    - {segment: buyers}\n"
        "    - {metric: revenue, gt: 20}\n"
    ),
    "vegan": "title: Vegan\nrules: {attribute: diet, eq: vegan}\n",
    "female": "title: Women\nrules: {profile: gender, eq: f}\n",
    "tiers": (
        "title: Tiers\nkind: tiered\ntiers:\n"
        "  - {name: gold, when: {metric: revenue, gte: 150}}\n"
        "  - {name: silver, when: {metric: orders, gte: 1}}\n"
        "  - {name: bronze, when: {profile: gender, is: present}}\n"
    ),
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _build(mp, root, engine, database):
    settings = configure_project(mp, root, engine, database)
    write_feeds(settings.landing_dir)
    # A and B opt in to e-mail (a later delivery of the same versions); B has no address, so
    # of the population only A could be on a sync's list.
    header, rows = CUSTOMERS
    opted = [[*r, "true"] for r in rows if r[0] in ("A", "B")]
    deliver(settings.landing_dir, "customers", "2026-04-11.csv", [*header, "email_opt_in"], opted)
    for name, text in BASE.items():
        (settings.segments_dir / f"{name}.yml").write_text(text)
    compile_segments(settings)
    outcome = run_build(settings, as_of=D)
    assert outcome.failed_checks == []
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "segments")
    git(root, "commit", "-q", "-m", "base segments")
    return settings


@pytest.fixture(scope="module", params=ENGINES)
def built(request, tmp_path_factory):
    yield from project_per_engine(request, tmp_path_factory, "diff", _build)


@pytest.fixture
def repo(built):
    """The built project; every change to its segments is undone afterwards."""
    yield built
    root = built.segments_dir.parent
    git(root, "checkout", "-q", "--", "segments")
    git(root, "clean", "-q", "-f", "-d", "--", "segments")


def write(settings, name: str, text: str) -> None:
    (settings.segments_dir / f"{name}.yml").write_text(text)


def diff(settings, base: str = "main", as_of=None):
    with open_warehouse(settings, read_only=True) as wh:
        return compute(wh, settings, base, as_of, "test warehouse")


def by_name(result):
    return {item.segment: item for item in result.segments}


def test_nothing_changed(repo):
    result = diff(repo)
    assert result.segments == [] and result.syncs == []
    assert result.as_of == D  # the published build's date
    assert "no segment or sync differs" in as_text(result)


def test_threshold_raised_and_the_segment_that_refers_to_it(repo):
    write(repo, "buyers", "title: Buyers\nrules: {metric: orders, gt: 2}\n")  # A: 3 orders
    result = diff(repo)
    items = by_name(result)
    assert set(items) == {"buyers", "big_buyers"}
    buyers, big = items["buyers"], items["big_buyers"]
    assert (buyers.status, buyers.before, buyers.after, buyers.added, buyers.removed) == (
        "changed",
        2,
        1,
        0,
        1,
    )
    assert buyers.examples_removed == ["B"] and buyers.examples_added == []
    assert buyers.revenue_share_before == pytest.approx(200 / 205)
    assert buyers.revenue_share_after == pytest.approx(170 / 205)
    assert (big.status, big.before, big.after, big.removed, big.because_of) == (
        "affected",
        2,
        1,
        1,
        ["buyers"],
    )
    markdown = as_markdown(result)
    assert "| `buyers` changed | 2 | 1 | -1 | 0 | 1 | 97.6% → 82.9% |" in markdown
    assert "| `big_buyers` affected (refers to buyers) | 2 | 1 | -1 | 0 | 1 |" in markdown
    assert "removed, e.g. `B`" in markdown
    rows = json.loads(as_json(result))
    assert rows[0] == {
        **rows[0],
        "segment": "buyers",
        "status": "changed",
        "before": 2,
        "after": 1,
        "added": 0,
        "removed": 1,
        "examples_added": [],
        "examples_removed": ["B"],
    }
    assert [r["segment"] for r in rows] == ["buyers", "big_buyers"]  # changed before affected


def test_removed_and_added_segments(repo):
    (repo.segments_dir / "vegan.yml").unlink()
    write(repo, "no_orders", "title: No orders\nrules: {metric: orders, eq: 0}\n")
    items = by_name(diff(repo))
    assert set(items) == {"vegan", "no_orders"}
    vegan, new = items["vegan"], items["no_orders"]
    assert (vegan.status, vegan.before, vegan.after, vegan.removed) == ("removed", 1, None, 1)
    assert vegan.examples_removed == ["A"] and vegan.change == -1
    assert (new.status, new.before, new.after, new.added) == ("added", None, 2, 2)
    assert new.examples_added == ["C", "G"]
    assert new.revenue_share_after == pytest.approx(5 / 205)


def test_invalid_side_is_reported_not_raised(repo):
    write(repo, "female", "title: Women\nrules: {profile: gendr, eq: f}\n")
    result = diff(repo)
    items = by_name(result)
    assert set(items) == {"female"}
    female = items["female"]
    assert (female.status, female.before, female.after) == ("changed", 1, None)
    assert (female.added, female.removed, female.change) == (0, 0, None)
    assert female.problems_before == []
    assert len(female.problems_after) == 1
    assert female.problems_after[0].startswith("segments/female.yml:2 rules.profile: ")
    assert "invalid after: segments/female.yml:2 rules.profile" in as_text(result)
    assert "⚠️ invalid" in as_markdown(result)


def test_invalid_base_named_by_its_ref(repo):
    root = repo.segments_dir.parent
    write(repo, "female", "title: Women\nrules: {profile: gender, eq: [f]}\n")
    git(root, "commit", "-q", "-am", "a broken segment")
    broken = git(root, "rev-parse", "HEAD")
    try:
        write(repo, "female", BASE["female"])
        items = by_name(diff(repo, base=broken))
        female = items["female"]
        assert (female.status, female.before, female.after, female.added) == (
            "changed",
            None,
            1,
            0,
        )
        assert female.problems_before[0].startswith(f"{broken}:segments/female.yml:2 rules")
    finally:
        git(root, "reset", "-q", "--hard", "HEAD~1")


def test_a_referenced_segment_made_invalid_makes_its_referrer_invalid(repo):
    (repo.segments_dir / "buyers.yml").unlink()
    items = by_name(diff(repo))
    assert items["buyers"].status == "removed"
    big = items["big_buyers"]
    assert big.status == "affected" and big.after is None and big.before == 2
    assert "unknown segment 'buyers'" in big.problems_after[0]


def test_tier_changes(repo):
    write(repo, "tiers", BASE["tiers"].replace("gte: 150", "gte: 200"))  # A: gold -> silver
    tiers = by_name(diff(repo))["tiers"]
    assert (tiers.before, tiers.after, tiers.added, tiers.removed, tiers.tier_changes) == (
        3,
        3,
        0,
        0,
        1,
    )


def test_a_changed_member_list_of_a_static_segment(repo):
    (repo.segments_dir / "lists").mkdir()
    (repo.segments_dir / "lists" / "staff.csv").write_text("customer_id\nA\n")
    write(repo, "staff", "title: Staff\nkind: static\nmembers_file: lists/staff.csv\n")
    root = repo.segments_dir.parent
    git(root, "add", "segments")
    git(root, "commit", "-q", "-m", "staff")
    try:
        (repo.segments_dir / "lists" / "staff.csv").write_text("customer_id\nA\nG\n")
        items = by_name(diff(repo, base="HEAD"))
        assert set(items) == {"staff"}  # the YAML is the same: its list changed
        assert (items["staff"].before, items["staff"].after, items["staff"].added) == (1, 2, 1)
    finally:
        git(root, "reset", "-q", "--hard", "HEAD~1")


def test_unknown_ref(repo):
    from segflow.errors import UserInputError

    with pytest.raises(UserInputError, match="'nope' is no commit"):
        diff(repo, base="nope")


def test_syncs_whose_lists_would_change(repo):
    root = repo.segments_dir.parent
    (root / "syncs").mkdir()
    for name, segment in (("all_buyers", "buyers"), ("gold", "tiers.gold"), ("moved", "buyers")):
        (root / "syncs" / f"{name}.yml").write_text(f"segment: {segment}\ndestination: klaviyo\n")
    git(root, "add", "syncs")
    git(root, "commit", "-q", "-m", "syncs")
    try:
        write(repo, "buyers", "title: Buyers\nrules: {metric: orders, gt: 5}\n")  # nobody
        write(repo, "tiers", BASE["tiers"].replace("gte: 150", "gte: 200"))  # A: silver
        (root / "syncs" / "moved.yml").write_text("segment: female\ndestination: klaviyo\n")
        result = diff(repo, base="HEAD")
        syncs = {
            s.sync: (s.segment_before, s.segment_after, s.adds, s.removes) for s in result.syncs
        }
        assert syncs == {
            "all_buyers": ("buyers", "buyers", 0, 1),  # A leaves buyers
            "gold": ("tiers.gold", "tiers.gold", 0, 1),  # A moves to silver
            # moved: buyers {A} -> female {A}: the same list, not listed
        }
        assert "all_buyers (buyers): +0 added, -1 removed" in as_text(result)
    finally:
        git(root, "reset", "-q", "--hard", "HEAD~1")
