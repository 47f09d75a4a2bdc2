from datetime import date

from segflow.ingestion.landing import scan_feed_folder


def test_deliveries_sort_by_date_then_name_and_odd_files_are_ignored(tmp_path):
    folder = tmp_path / "transactions"
    folder.mkdir()
    for name in [
        "2026-11-21_store-042.parquet",
        "2026-11-20.csv.gz",
        "2026-11-21.csv",
        "2026-11-21_store-001.parquet",
        "2026-11-22.csv.part",
        "2026-11-22.csv.tmp",
        "export.csv",
        "2026-13-01.csv",
        "2026-11-22.json",
    ]:
        (folder / name).write_bytes(b"x")
    deliveries, ignored = scan_feed_folder(tmp_path, "transactions")
    assert [d.name for d in deliveries] == [
        "2026-11-20.csv.gz",
        "2026-11-21.csv",
        "2026-11-21_store-001.parquet",
        "2026-11-21_store-042.parquet",
    ]
    assert deliveries[0].delivery_date == date(2026, 11, 20)
    assert deliveries[0].format == "csv.gz"
    assert deliveries[0].file == "transactions/2026-11-20.csv.gz"
    assert len(ignored) == 5
    assert any("2026-13-01.csv" in w and "not a valid date" in w for w in ignored)


def test_missing_feed_folder_has_no_deliveries(tmp_path):
    assert scan_feed_folder(tmp_path, "events") == ([], [])
