"""A sensor that starts the build when new files land (docs/feeds.md, "Delivery").

The cursor remembers each delivery file's size and modification time; a run's key is a hash of
the new or changed files, so the same delivery never starts two runs.
"""

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import dagster as dg

from segflow.feeds import FEEDS
from segflow.ingestion.landing import scan_feed_folder
from segflow.settings import Settings


def delivery_fingerprints(landing: Path) -> dict[str, str]:
    """Every delivery file in the landing (`<feed>/<name>`) with `size:mtime_ns`."""
    prints: dict[str, str] = {}
    if not landing.is_dir():
        return prints
    for feed in FEEDS:
        deliveries, _ = scan_feed_folder(landing, feed)
        for delivery in deliveries:
            stat = delivery.path.stat()
            prints[delivery.file] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return prints


def make_delivery_sensor(job, settings: Settings):
    @dg.sensor(
        name="new_deliveries",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Build yesterday's partition again when files land in SEGFLOW_LANDING.",
    )
    def new_deliveries(context: dg.SensorEvaluationContext):
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        current = delivery_fingerprints(settings.landing_dir)
        new = sorted((f, p) for f, p in current.items() if seen.get(f) != p)
        if not new:
            return dg.SkipReason(f"no new deliveries in {settings.landing_dir}")
        key = hashlib.sha256(json.dumps(new).encode()).hexdigest()[:16]
        day = (settings.today() - timedelta(days=1)).isoformat()
        files = ", ".join(f for f, _ in new[:3]) + (
            f" and {len(new) - 3} more" if len(new) > 3 else ""
        )
        context.log.info(f"new deliveries: {files}")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"delivery-{key}",
                    partition_key=day,
                    tags={"segflow/deliveries": str(len(new))},
                )
            ],
            cursor=json.dumps(current, sort_keys=True),
        )

    return new_deliveries
