"""The impact diff as text (a terminal), markdown (a pull-request comment) or json (scripts)."""

from __future__ import annotations

import json

from segflow.review.diff import Diff, SegmentImpact, SyncImpact


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _signed(value: int | None) -> str:
    return "–" if value is None else f"{value:+,}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _shares(item: SegmentImpact) -> str:
    return f"{_share(item.revenue_share_before)} → {_share(item.revenue_share_after)}"


def _invalid(item: SegmentImpact) -> list[tuple[str, str]]:
    return [("before", p) for p in item.problems_before] + [
        ("after", p) for p in item.problems_after
    ]


def _status(item: SegmentImpact) -> str:
    if item.status == "affected" and item.because_of:
        return f"affected (refers to {', '.join(item.because_of)})"
    return item.status


def _sync_line(sync: SyncImpact) -> str:
    if sync.segment_before == sync.segment_after:
        target = sync.segment_after or "?"
    else:
        target = f"{sync.segment_before or 'none'} → {sync.segment_after or 'none'}"
    return f"{sync.sync} ({target}): +{sync.adds:,} added, -{sync.removes:,} removed"


def headline(diff: Diff) -> str:
    return (
        f"segments changed since {diff.base} ({diff.commit[:12]}), evaluated as of {diff.as_of} "
        f"on {diff.warehouse}"
    )


def as_text(diff: Diff) -> str:
    lines = [headline(diff)]
    if not diff.segments and not diff.syncs:
        lines.append("no segment or sync differs")
        return "\n".join(lines) + "\n"
    width = max([len("segment")] + [len(i.segment) for i in diff.segments])
    lines.append(
        f"{'segment':<{width}}  {'status':<9}{'before':>9}{'after':>9}{'change':>9}"
        f"{'added':>9}{'removed':>9}  revenue share"
    )
    for item in diff.segments:
        lines.append(
            f"{item.segment:<{width}}  {item.status:<9}{_count(item.before):>9}"
            f"{_count(item.after):>9}{_signed(item.change):>9}{_count(item.added):>9}"
            f"{_count(item.removed):>9}  {_shares(item)}"
        )
    for item in diff.segments:
        details = []
        if item.because_of:
            details.append(f"refers to {', '.join(item.because_of)}, which changed")
        if item.tier_changes:
            details.append(f"{item.tier_changes:,} members change tier")
        if item.examples_added:
            details.append("added e.g. " + ", ".join(item.examples_added))
        if item.examples_removed:
            details.append("removed e.g. " + ", ".join(item.examples_removed))
        details += [f"invalid {side}: {problem}" for side, problem in _invalid(item)]
        if details:
            lines.append(f"{item.segment}:")
            lines.extend(f"  {d}" for d in details)
    if diff.syncs:
        lines.append("syncs whose lists would change:")
        lines.extend(f"  {_sync_line(s)}" for s in diff.syncs)
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(diff: Diff) -> str:
    out = [
        "### Segment impact",
        "",
        f"Compared with `{diff.base}` (`{diff.commit[:12]}`), evaluated as of **{diff.as_of}** "
        f"on {diff.warehouse}; nothing was built.",
        "",
    ]
    if not diff.segments and not diff.syncs:
        out.append("No segment or sync differs.")
        return "\n".join(out) + "\n"
    if diff.segments:
        out += [
            "| segment | before | after | change | added | removed "
            "| revenue share before → after |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for item in diff.segments:
            flag = " ⚠️ invalid" if item.invalid else ""
            out.append(
                f"| `{item.segment}` {_cell(_status(item))}{flag} | {_count(item.before)} "
                f"| {_count(item.after)} | {_signed(item.change)} | {_count(item.added)} "
                f"| {_count(item.removed)} | {_shares(item)} |"
            )
        out.append("")
    for item in diff.segments:
        details = []
        if item.tier_changes:
            details.append(f"{item.tier_changes:,} members change tier")
        if item.examples_added:
            details.append("added, e.g. " + ", ".join(f"`{c}`" for c in item.examples_added))
        if item.examples_removed:
            details.append("removed, e.g. " + ", ".join(f"`{c}`" for c in item.examples_removed))
        details += [f"invalid {side}: `{_cell(p)}`" for side, p in _invalid(item)]
        if details:
            out.append(f"- **{item.segment}**: " + "; ".join(details))
    if diff.syncs:
        out += ["", "Syncs whose lists would change:", ""]
        out += [f"- {_sync_line(s)}" for s in diff.syncs]
    return "\n".join(out).rstrip("\n") + "\n"


def as_json(diff: Diff) -> str:
    items = [
        {
            "segment": i.segment,
            "status": i.status,
            "before": i.before,
            "after": i.after,
            "added": i.added,
            "removed": i.removed,
            "examples_added": i.examples_added,
            "examples_removed": i.examples_removed,
            "tier_changes": i.tier_changes,
            "revenue_share_before": i.revenue_share_before,
            "revenue_share_after": i.revenue_share_after,
            "problems_before": i.problems_before,
            "problems_after": i.problems_after,
            "because_of": i.because_of,
        }
        for i in diff.segments
    ]
    return json.dumps(items, indent=2) + "\n"


RENDERERS = {"text": as_text, "markdown": as_markdown, "json": as_json}
