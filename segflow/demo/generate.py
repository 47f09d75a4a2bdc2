"""A deterministic demo retailer: an omnichannel fashion and lifestyle chain with a loyalty app.

`generate_demo(landing, customers=10_000, days=730, until=D)` writes the five feeds the way such
a retailer delivers them: a full export at the start, then monthly files (CSV, CSV.gz and
Parquet), then daily files for the last week, with profile changes over time, returns,
campaign sales, loyalty activity, an erased customer, and a few bad rows for the quarantine.
The same arguments always write the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segflow.feeds import FEEDS, ColumnType

SEED = 20261122
DEMO_MARKER = ".segflow-demo"

BRANDS = {
    "Nordlicht": ("Women", "Men"),
    "Urban Fox": ("Men", "Women"),
    "Kite & Co": ("Kids",),
    "Alma Verde": ("Women", "Home"),
    "Blue Harbor": ("Men", "Women"),
    "Petit Ours": ("Kids",),
    "Stride": ("Men", "Women", "Accessories"),
    "Luma Home": ("Home",),
    "Kiko Milano": ("Accessories",),
}
CATEGORIES = {
    "Women": ("Dresses", "Knitwear", "Jeans", "Blouses", "Coats", "Shoes"),
    "Men": ("Shirts", "Knitwear", "Jeans", "Jackets", "Shoes"),
    "Kids": ("T-shirts", "Trousers", "Pyjamas", "Jackets"),
    "Home": ("Candles", "Cushions", "Tableware", "Plaids"),
    "Accessories": ("Bags", "Scarves", "Belts", "Jewellery"),
}
TARGET_GROUP = {
    "Women": "women",
    "Men": "men",
    "Kids": "kids",
    "Home": "unisex",
    "Accessories": "unisex",
}
COLORS = ("black", "white", "navy", "beige", "olive", "red", "grey", "camel", "pink")
COLLECTIONS = ("Core", "Denim Lab", "Resort", "Festive", "Essentials", "Studio")
STORES = tuple(f"S{n:03d}" for n in range(1, 13))
REWARDS = ("Free coffee", "10 EUR voucher", "Tote bag", "Free alterations")
CHALLENGES = ("Spring step-up", "Three visits", "App explorer", "Review a product")
FIRST_NAMES_F = ("Anna", "Lotte", "Mia", "Sophie", "Emma", "Lena", "Julia", "Sanne", "Eva")
FIRST_NAMES_M = ("Lukas", "Daan", "Jonas", "Noah", "Finn", "Thomas", "Bram", "Paul", "Max")
LAST_NAMES = (
    "Müller",
    "de Vries",
    "Schmidt",
    "Jansen",
    "Bakker",
    "Fischer",
    "Weber",
    "Visser",
    "Meyer",
    "Smit",
    "Wagner",
    "Peters",
)
CAMPAIGNS = ("SUMMER-SALE", "BLACK-FRIDAY", "APP-WELCOME", "VIP-NIGHT", "NEWSLETTER-10")
EMPLOYEE_IDS = ("C000007", "C000042", "C000123", "C000777", "C001234")
ERASED_ID = "C000099"


@dataclass
class DemoSummary:
    files: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    until: date = date.today()


@dataclass
class _Deliveries:
    """Rows per feed and delivery file name, written out at the end."""

    rows: dict[tuple[str, str], list[dict]] = field(default_factory=lambda: defaultdict(list))

    def add(self, feed: str, name: str, row: dict) -> None:
        self.rows[(feed, name)].append(row)


def _month_file(day: date, until: date, last_week: date, suffix: str = "") -> str:
    """Monthly files are named by their last day; the last week comes in daily files."""
    if day >= last_week:
        return f"{day.isoformat()}{suffix}"
    month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return f"{min(month_end, last_week - timedelta(days=1)).isoformat()}{suffix}"


def _ts(day: date, rng: random.Random, open_hour: int = 9, close_hour: int = 20) -> datetime:
    return datetime.combine(
        day, time(rng.randint(open_hour, close_hour - 1), rng.randint(0, 59), rng.randint(0, 59))
    )


def generate_demo(
    landing: Path,
    customers: int = 10_000,
    days: int = 730,
    until: date | None = None,
    seed: int = SEED,
) -> DemoSummary:
    until = until or date.today()
    rng = random.Random(seed)
    start = until - timedelta(days=days - 1)
    last_week = until - timedelta(days=6)
    out = _Deliveries()

    products = _products(rng, start, until, out)
    _customers_and_activity(rng, customers, start, until, last_week, products, out)
    summary = _write(landing, out)
    summary.until = until
    return summary


def _products(rng: random.Random, start: date, until: date, out: _Deliveries) -> list[dict]:
    products = []
    seasons = sorted(
        {
            f"{'SS' if m < 7 else 'AW'}{y % 100}"
            for y in range(start.year, until.year + 1)
            for m in (3, 9)
        }
    )
    n = 0
    for brand, departments in BRANDS.items():
        for department in departments:
            for category in CATEGORIES[department]:
                for _ in range(rng.randint(4, 9)):
                    n += 1
                    season = rng.choice(seasons)
                    price = Decimal(
                        rng.choice(
                            (
                                9.95,
                                14.95,
                                19.95,
                                29.95,
                                39.95,
                                49.95,
                                69.95,
                                89.95,
                                119.0,
                                149.0,
                                199.0,
                            )
                        )
                    ).quantize(Decimal("0.01"))
                    products.append(
                        {
                            "product_id": f"P{n:05d}",
                            "name": f"{brand} {category.rstrip('s')} {rng.choice(COLORS)}",
                            "brand": brand,
                            "collection": rng.choice(COLLECTIONS),
                            "department": department,
                            "category": category,
                            "target_group": TARGET_GROUP[department],
                            "color": rng.choice(COLORS),
                            "season": season,
                            "_price": price,
                        }
                    )
    # The full article master first; later a re-classification of some articles.
    first = f"{start.isoformat()}_article-master.parquet"
    for p in products:
        out.add("products", first, {**p, "updated_at": datetime.combine(start, time(6), UTC)})
    update_day = start + timedelta(days=(until - start).days // 2)
    for p in rng.sample(products, k=len(products) // 10):
        p["collection"] = "Studio"
        out.add(
            "products",
            f"{update_day.isoformat()}_article-update.csv",
            {**p, "updated_at": f"{update_day.isoformat()}T06:00:00Z"},
        )
    return products


def _customers_and_activity(
    rng: random.Random,
    count: int,
    start: date,
    until: date,
    last_week: date,
    products: list[dict],
    out: _Deliveries,
) -> None:
    history_start = start - timedelta(days=365 * 3)
    span = (until - history_start).days
    for n in range(1, count + 1):
        cid = f"C{n:06d}"
        # More sign-ups recently; about 1 % in the last week.
        if rng.random() < 0.012:
            signup = until - timedelta(days=rng.randint(0, 6))
        else:
            signup = history_start + timedelta(days=int(span * math.sqrt(rng.random())))
        gender = rng.choices(("f", "m", "x", "", "F ", "female"), (52, 38, 2, 4, 2, 2))[0]
        first = rng.choice(FIRST_NAMES_M if gender == "m" else FIRST_NAMES_F)
        last = rng.choice(LAST_NAMES)
        age = rng.randint(18, 80)
        birth = until - timedelta(days=age * 365 + rng.randint(0, 364))
        app_user = rng.random() < 0.42
        profile = {
            "customer_id": cid,
            "email": ""
            if rng.random() < 0.07
            else f"{first}.{last}.{n}@example.com".lower().replace(" ", "").replace("ü", "ue"),
            "first_name": first,
            "last_name": last,
            "gender": gender,
            "birth_date": birth.isoformat() if rng.random() < 0.86 else "",
            "signup_date": signup.isoformat(),
            "signup_store": rng.choice(STORES + ("WEB", "APP")),
            "language": rng.choices(("de", "nl", "en"), (55, 35, 10))[0],
            "country": rng.choices(("DE", "NL", "AT", "BE"), (50, 35, 8, 7))[0],
            "postal_code": f"{rng.randint(10000, 99999)}",
            "app_user": "yes" if app_user else "no",
            "login_method": rng.choice(("email", "apple", "google")) if app_user else "",
            "email_opt_in": rng.choice(("true", "1", "y")) if rng.random() < 0.68 else "false",
            "push_opt_in": ("true" if rng.random() < 0.6 else "false") if app_user else "",
            "is_employee": "true" if cid in EMPLOYEE_IDS else "false",
            "status": rng.choices(("", "active", "blocked", "fraud"), (80, 19, 0.7, 0.3))[0],
            "updated_at": _ts(signup, rng).isoformat(sep=" "),
            "erased_at": "",
        }
        initial = signup < start
        name = (
            f"{start.isoformat()}_full-export.csv"
            if initial
            else _month_file(signup, until, last_week, ".csv")
        )
        out.add("customers", name, profile)
        # Profile changes over time: consent, app, moving house.
        if rng.random() < 0.15:
            change_day = max(signup, start) + timedelta(days=rng.randint(1, 400))
            if change_day <= until:
                changed = {**profile, "updated_at": _ts(change_day, rng).isoformat(sep=" ")}
                changed["postal_code"] = f"{rng.randint(10000, 99999)}"
                if not app_user and rng.random() < 0.5:
                    app_user = True
                    changed.update(app_user="true", login_method="email")
                out.add("customers", _month_file(change_day, until, last_week, ".csv"), changed)
        if cid == ERASED_ID:
            erase_day = until - timedelta(days=20)
            out.add(
                "customers",
                _month_file(erase_day, until, last_week, ".csv"),
                {
                    **profile,
                    "updated_at": _ts(erase_day, rng).isoformat(sep=" "),
                    "erased_at": _ts(erase_day, rng).isoformat(sep=" "),
                },
            )
        _attributes(rng, cid, max(signup, start), until, last_week, out)
        _orders(rng, cid, max(signup, start), until, last_week, products, app_user, out)
        if app_user:
            _app_activity(rng, cid, max(signup, start), until, last_week, out)


def _attributes(
    rng: random.Random, cid: str, since: date, until: date, last_week: date, out: _Deliveries
) -> None:
    day = since + timedelta(days=rng.randint(0, 60))
    if day > until:
        return
    ts = f"{day.isoformat()}T12:00:00Z"
    name = _month_file(day, until, last_week, "_preferences.csv")
    diet = rng.choices(("vegan", "vegetarian", None), (5, 11, 84))[0]
    if diet:
        out.add(
            "customer_attributes",
            name,
            {
                "customer_id": cid,
                "attribute": "diet",
                "value": diet,
                "updated_at": ts,
                "deleted": "",
            },
        )
    for pet in ("dog", "cat"):
        if rng.random() < 0.12:
            out.add(
                "customer_attributes",
                name,
                {
                    "customer_id": cid,
                    "attribute": "pet",
                    "value": pet,
                    "updated_at": ts,
                    "deleted": "",
                },
            )
    if rng.random() < 0.3:
        out.add(
            "customer_attributes",
            name,
            {
                "customer_id": cid,
                "attribute": "favourite_store",
                "value": rng.choice(STORES),
                "updated_at": ts,
                "deleted": "",
            },
        )
    if diet == "vegetarian" and rng.random() < 0.2:
        later = day + timedelta(days=rng.randint(30, 300))
        if later <= until:
            out.add(
                "customer_attributes",
                _month_file(later, until, last_week, "_preferences.csv"),
                {
                    "customer_id": cid,
                    "attribute": "diet",
                    "value": diet,
                    "updated_at": f"{later.isoformat()}T12:00:00Z",
                    "deleted": "true",
                },
            )


def _orders(
    rng: random.Random,
    cid: str,
    since: date,
    until: date,
    last_week: date,
    products: list[dict],
    app_user: bool,
    out: _Deliveries,
) -> None:
    kind = rng.choices(("never", "once", "repeat", "loyal"), (18, 27, 45, 10))[0]
    n_orders = {"never": 0, "once": 1, "repeat": rng.randint(2, 8), "loyal": rng.randint(9, 30)}[
        kind
    ]
    span = (until - since).days
    favourite_brand = rng.choice(list(BRANDS))
    for k in range(n_orders):
        day = since + timedelta(days=rng.randint(0, span))
        channel = rng.choices(("store", "online", "app"), (55, 35, 10 if app_user else 0))[0]
        tx = f"T{cid[1:]}-{k:03d}"
        campaign = rng.choice(CAMPAIGNS) if rng.random() < 0.2 else ""
        store = rng.choice(STORES) if channel == "store" else "WEB"
        occurred = _ts(day, rng)
        # Store tills deliver Parquet with local timestamps; the web shop CSV.gz in UTC.
        name = (
            _month_file(day, until, last_week, "_pos.parquet")
            if channel == "store"
            else _month_file(day, until, last_week, "_webshop.csv.gz")
        )
        total = Decimal(0)
        for line in range(1, rng.choices((1, 2, 3, 4), (45, 30, 17, 8))[0] + 1):
            pool = [p for p in rng.sample(products, 6) if p["brand"] == favourite_brand]
            product = pool[0] if pool and rng.random() < 0.5 else rng.choice(products)
            qty = rng.choices((1, 2, 3), (85, 12, 3))[0]
            amount = product["_price"] * qty
            if campaign:
                amount = (amount * Decimal("0.8")).quantize(Decimal("0.01"))
            total += amount
            row = {
                "transaction_id": tx,
                "line_id": str(line),
                "customer_id": cid,
                "occurred_at": occurred
                if channel == "store"
                else occurred.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
                "store_id": store,
                "channel": channel,
                "product_id": product["product_id"],
                "quantity": qty,
                "amount": amount,
                "currency": "EUR",
                "campaign_code": campaign,
            }
            out.add("transactions", name, row)
            if rng.random() < 0.08:  # about 8 % of lines come back
                back = day + timedelta(days=rng.randint(2, 30))
                if back <= until:
                    out.add(
                        "transactions",
                        _month_file(back, until, last_week, "_returns.csv"),
                        {
                            **row,
                            "transaction_id": f"R{tx[1:]}",
                            "line_id": str(line),
                            "occurred_at": _ts(back, rng).isoformat(sep=" "),
                            "quantity": -qty,
                            "amount": -amount,
                        },
                    )
        ev_name = _month_file(day, until, last_week, "_loyalty.csv.gz")
        out.add(
            "events",
            ev_name,
            {
                "event_id": f"E{tx[1:]}-pe",
                "customer_id": cid,
                "occurred_at": occurred.isoformat(sep=" "),
                "event_type": "points_earned",
                "points": int(total),
                "reward": "",
                "challenge": "",
                "account": "points",
                "channel": channel,
            },
        )
        if channel == "store" and rng.random() < 0.3:
            out.add(
                "events",
                ev_name,
                {
                    "event_id": f"E{tx[1:]}-st",
                    "customer_id": cid,
                    "occurred_at": occurred.isoformat(sep=" "),
                    "event_type": "stamp_collected",
                    "points": "",
                    "reward": "",
                    "challenge": "",
                    "account": "stamp_card",
                    "channel": "store",
                },
            )


def _app_activity(
    rng: random.Random, cid: str, since: date, until: date, last_week: date, out: _Deliveries
) -> None:
    span = (until - since).days
    engaged = rng.random()
    for k in range(int(engaged * span / 9)):
        day = since + timedelta(days=rng.randint(0, span))
        event_type = rng.choices(
            (
                "app_open",
                "check_in",
                "challenge_completed",
                "reward_redeemed",
                "points_redeemed",
                "voucher_issued",
                "email_opened",
                "email_clicked",
            ),
            (60, 8, 5, 6, 5, 4, 8, 4),
        )[0]
        row: dict[str, object] = {
            "event_id": f"E{cid[1:]}-a{k:04d}",
            "customer_id": cid,
            "occurred_at": _ts(day, rng, 7, 23).isoformat(sep=" "),
            "event_type": event_type,
            "points": "",
            "reward": "",
            "challenge": "",
            "account": "",
            "channel": "app",
        }
        if event_type == "reward_redeemed":
            row.update(
                reward=rng.choice(REWARDS),
                points=-rng.choice((100, 250, 500)),
                account="voucher_card",
            )
        elif event_type == "points_redeemed":
            row.update(points=-rng.choice((50, 100, 200)))
        elif event_type == "challenge_completed":
            row.update(challenge=rng.choice(CHALLENGES), points=rng.choice((50, 100)))
        out.add("events", _month_file(day, until, last_week, "_app.csv"), row)


def _bad_rows(out: _Deliveries) -> None:
    """A few rows that break the contract, in files big enough to stay under the limit."""
    tx_files = sorted(k for k in out.rows if k[0] == "transactions" and k[1].endswith(".csv.gz"))
    ev_files = sorted(k for k in out.rows if k[0] == "events" and k[1].endswith("_app.csv"))
    if tx_files:
        rows = out.rows[max(tx_files, key=lambda k: len(out.rows[k]))]
        template = rows[0]
        rows.append({**template, "line_id": "bad-1", "amount": "12,50"})
        rows.append({**template, "line_id": "bad-2", "occurred_at": "2025-02-30T10:00:00Z"})
        rows.append({**template, "line_id": "bad-3", "quantity": "two"})
    if ev_files:
        rows = out.rows[max(ev_files, key=lambda k: len(out.rows[k]))]
        rows.append({**rows[0], "event_id": "E-bad-1", "customer_id": ""})


def _write(landing: Path, out: _Deliveries) -> DemoSummary:
    _bad_rows(out)
    summary = DemoSummary()
    for (feed, name), rows in sorted(out.rows.items()):
        folder = landing / feed
        folder.mkdir(parents=True, exist_ok=True)
        rows.sort(key=lambda r: tuple(str(v) for v in r.values())[:3])
        columns = [c for c in FEEDS[feed].column_names]
        if name.endswith(".parquet"):
            _write_parquet(folder / name, feed, rows)
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(
                buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n"
            )
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
            data = buffer.getvalue().encode("utf-8")
            if name.endswith(".gz"):
                data = gzip.compress(data, mtime=0)
            (folder / name).write_bytes(data)
        summary.files[feed] = summary.files.get(feed, 0) + 1
        summary.rows[feed] = summary.rows.get(feed, 0) + len(rows)
    (landing / DEMO_MARKER).write_text("generated by `segflow demo`; safe to delete\n")
    return summary


_ARROW = {
    ColumnType.STRING: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us"),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.decimal128(12, 2),
}


def _write_parquet(path: Path, feed: str, rows: list[dict]) -> None:
    columns = {}
    for column in FEEDS[feed].columns:
        values = [r.get(column.name) for r in rows]
        if column.type is ColumnType.TIMESTAMP:
            values = [v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in values]
        values = [None if v == "" else v for v in values]
        columns[column.name] = pa.array(values, _ARROW[column.type])
    pq.write_table(pa.table(columns), path, compression="zstd")


@dataclass
class LateDelivery:
    """A delivery the demo makes on purpose wrong, then re-delivers fixed: a build that a
    blocking check stops (nothing published) before the build that publishes, so that the
    Operations dashboard and the Dagster UI have a failed run to show."""

    path: Path
    header: str
    rows: list[str]

    def deliver_wrong(self) -> None:
        """The returns in USD: the one-currency check of the transactions stops the build."""
        lines = [r.replace(",EUR,", ",USD,") for r in self.rows]
        self.path.write_text("\n".join([self.header, *lines]) + "\n")

    def deliver_fixed(self) -> None:
        """The same file again, in the project's currency: it replaces the wrong rows."""
        self.path.write_text("\n".join([self.header, *self.rows]) + "\n")


def late_delivery(landing: Path, until: date) -> LateDelivery:
    """The newest returns file again, under new transaction ids, as a late delivery of D."""
    returns = max((landing / "transactions").glob("*_returns.csv"))
    header, *lines = returns.read_text().splitlines()
    rows = ["U" + line[1:] for line in lines]  # new ids: R... -> U...
    return LateDelivery(returns.with_name(f"{until}_late_returns.csv"), header, rows[:20])
