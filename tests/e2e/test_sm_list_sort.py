"""ListSecrets in every SortBy / SortOrder (issue 15), paged through boto3 over a few hundred secrets
and compared with a sort done here, on every storage backend.

The secrets are read and changed on two different days (a `--dev` server restarted on its data with a
later `--dev-clock-start`), so that last-accessed days differ and last-changed dates interleave with
creation order. Coffer sorts by the order's value, then by name (names are unique in a region); a
secret never read sorts before every read one (AWS omits its `LastAccessedDate`).
"""
import datetime
import random

import botocore.exceptions
import pytest

from conftest import Server, boto_client

DAY_ONE = "2030-06-14T12:00:00Z"
DAY_THREE = "2030-06-16T12:00:00Z"
COUNT = 240
SHAPES = ["app/", "db-", "app", "", "Z/", "svc/prod/", "a-b"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
NEVER = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)

ORDERS = [
    ("created-date", "CreatedDate"),
    ("last-changed-date", "LastChangedDate"),
    ("last-accessed-date", "LastAccessedDate"),
    ("name", None),
]


def names():
    rng = random.Random(15)
    out = [f"{SHAPES[i % len(SHAPES)]}s{rng.randrange(10**6):06d}-{i}" for i in range(COUNT)]
    rng.shuffle(out)
    return out


def start(backend, request, data_dir, clock, pg_url):
    args = ["--dev", "--dev-clock-start", clock]
    if backend == "memory":
        return Server(args)
    if backend == "postgres":
        args += ["--storage", pg_url]
    return Server(args, data_dir=str(data_dir))


def day(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(hour=0)


def read_and_change(sm, all_names, rng, accessed, when):
    """Reads a third of the secrets and changes another third, in random order."""
    for name in rng.sample(all_names, len(all_names) // 3):
        sm.get_secret_value(SecretId=name)
        accessed[name] = day(when)
    for name in rng.sample(all_names, len(all_names) // 3):
        sm.update_secret(SecretId=name, Description=f"changed {rng.random()}")


def every_page(sm, page_size=None, **kwargs):
    """Every entry of a listing, following NextToken with boto3's paginator."""
    config = {"PageSize": page_size} if page_size else {}
    paginator = sm.get_paginator("list_secrets")
    entries, pages = [], 0
    for page in paginator.paginate(PaginationConfig=config, **kwargs):
        if page_size:
            assert len(page["SecretList"]) <= page_size
        entries.extend(page["SecretList"])
        pages += 1
    return entries, pages


def sort_value(entry, field):
    if field is None:
        return EPOCH
    return entry.get(field, NEVER)


def expected_order(entries, field, descending):
    """`entries` sorted here: by the order's value as each entry reports it, then by name."""
    ordered = sorted(entries, key=lambda e: (sort_value(e, field), e["Name"].encode()))
    return [e["Name"] for e in (ordered[::-1] if descending else ordered)]


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgres"])
def listed(request, tmp_path_factory):
    """A server holding COUNT secrets read and changed on two days, some scheduled for deletion;
    with the names, the day each was last read and the scheduled ones. Shared by the tests of a
    backend, which only read it."""
    backend = request.param
    pg_url = request.getfixturevalue("postgres").new_database() if backend == "postgres" else None
    data_dir = tmp_path_factory.mktemp(f"list-sort-{backend}")
    rng = random.Random(1515)
    all_names = names()
    accessed = {}
    srv = start(backend, request, data_dir, DAY_ONE, pg_url)
    try:
        sm = boto_client("secretsmanager", srv)
        for i, name in enumerate(all_names):
            extra = {"Tags": [{"Key": "team", "Value": f"t{i % 3}"}]} if i % 4 == 0 else {}
            sm.create_secret(Name=name, SecretString=f"value-{i}", **extra)
        read_and_change(sm, all_names, rng, accessed, DAY_ONE)
        if backend != "memory":
            # Two days later, on the same data.
            srv.stop()
            srv = start(backend, request, data_dir, DAY_THREE, pg_url)
            sm = boto_client("secretsmanager", srv)
            read_and_change(sm, all_names, rng, accessed, DAY_THREE)
        scheduled = set(rng.sample(all_names, 12))
        for name in scheduled:
            sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        yield sm, all_names, accessed, scheduled
    finally:
        srv.cleanup()


@pytest.mark.parametrize("sort_by,field", ORDERS)
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("page_size", [7, None])
def test_every_order_pages_through_every_secret_once_in_order(listed, sort_by, field, sort_order, page_size):
    sm, all_names, accessed, scheduled = listed
    entries, pages = every_page(sm, page_size, SortBy=sort_by, SortOrder=sort_order)
    got = [e["Name"] for e in entries]
    assert sorted(got) == sorted(set(all_names) - scheduled)
    assert got == expected_order(entries, field, sort_order == "desc")
    expected_pages = -(-len(got) // (page_size or 100))
    assert pages == expected_pages
    # The dates the order sorts by are the ones the secrets really have.
    for e in entries:
        if e["Name"] in accessed:
            assert e["LastAccessedDate"] == accessed[e["Name"]]
        else:
            assert "LastAccessedDate" not in e


def test_orders_with_planned_deletion_and_filters(listed):
    sm, all_names, _, scheduled = listed
    live = set(all_names) - scheduled
    for sort_by, field in ORDERS:
        for sort_order in ["asc", "desc"]:
            entries, _ = every_page(sm, 11, SortBy=sort_by, SortOrder=sort_order, IncludePlannedDeletion=True)
            assert sorted(e["Name"] for e in entries) == sorted(all_names)
            assert [e["Name"] for e in entries] == expected_order(entries, field, sort_order == "desc")
            assert {e["Name"] for e in entries if "DeletedDate" in e} == scheduled

            filters = [{"Key": "name", "Values": ["app"]}, {"Key": "tag-value", "Values": ["t1", "t2"]}]
            entries, _ = every_page(sm, 5, SortBy=sort_by, SortOrder=sort_order, Filters=filters)
            tagged = {n for i, n in enumerate(names()) if i % 4 == 0 and i % 3 != 0}
            assert sorted(e["Name"] for e in entries) == sorted(n for n in live & tagged if n.startswith("app"))
            assert [e["Name"] for e in entries] == expected_order(entries, field, sort_order == "desc")


def test_default_order_is_created_date_ascending(listed):
    sm, _, _, _ = listed
    default, _ = every_page(sm, 9)
    explicit, _ = every_page(sm, 9, SortBy="created-date", SortOrder="asc")
    assert [e["Name"] for e in default] == [e["Name"] for e in explicit]
    assert [e["Name"] for e in default] == expected_order(default, "CreatedDate", False)


def test_a_secret_changed_between_pages_is_listed_at_its_new_position(start_server):
    """Tokens hold the position of the last secret listed (keyset pagination): a secret whose
    last-changed date moves past that position is listed again, and one that moves before it is
    not; every other secret is listed once, in order."""
    srv = start_server(["--dev", "--dev-clock-start", DAY_ONE])
    sm = boto_client("secretsmanager", srv)
    for i in range(30):
        sm.create_secret(Name=f"moving-{i:02d}", SecretString="v")
    first = sm.list_secrets(SortBy="last-changed-date", SortOrder="asc", MaxResults=10)
    seen = [e["Name"] for e in first["SecretList"]]
    assert seen == [f"moving-{i:02d}" for i in range(10)]
    sm.update_secret(SecretId="moving-03", Description="changed after it was listed")
    sm.update_secret(SecretId="moving-20", Description="changed before it was listed")
    rest, _ = every_page_from(sm, first["NextToken"], SortBy="last-changed-date", SortOrder="asc", MaxResults=10)
    unchanged = [f"moving-{i:02d}" for i in range(10, 30) if i != 20]
    assert [e["Name"] for e in rest] == unchanged + ["moving-03", "moving-20"]

    first = sm.list_secrets(SortBy="last-changed-date", SortOrder="desc", MaxResults=10)
    seen = [e["Name"] for e in first["SecretList"]]
    assert seen == ["moving-20", "moving-03"] + [f"moving-{i:02d}" for i in range(29, 21, -1)]
    sm.update_secret(SecretId="moving-05", Description="moved to the top, before the token")
    rest, _ = every_page_from(sm, first["NextToken"], SortBy="last-changed-date", SortOrder="desc", MaxResults=10)
    assert [e["Name"] for e in rest] == [f"moving-{i:02d}" for i in range(21, -1, -1) if i not in (20, 3, 5)]


def every_page_from(sm, token, **kwargs):
    entries, pages = [], 0
    while token:
        page = sm.list_secrets(NextToken=token, **kwargs)
        entries.extend(page["SecretList"])
        token = page.get("NextToken")
        pages += 1
    return entries, pages


def test_max_results_bounds_and_bad_input(start_server):
    srv = start_server(["--dev", "--dev-clock-start", DAY_ONE])
    sm = boto_client("secretsmanager", srv)
    for i in range(5):
        sm.create_secret(Name=f"bound-{i}", SecretString="v")
    for sort_by, _ in ORDERS:
        page = sm.list_secrets(SortBy=sort_by, SortOrder="desc", MaxResults=5)
        assert len(page["SecretList"]) == 5 and "NextToken" not in page
        page = sm.list_secrets(SortBy=sort_by, SortOrder="desc", MaxResults=4)
        assert len(page["SecretList"]) == 4 and "NextToken" in page
        for token in ["not-a-token", page["NextToken"][:-3] + "!!!"]:
            with pytest.raises(botocore.exceptions.ClientError) as e:
                sm.list_secrets(SortBy=sort_by, NextToken=token)
            assert e.value.response["Error"]["Code"] == "InvalidNextTokenException"
    for bad in [{"SortBy": "size"}, {"SortOrder": "up"}, {"MaxResults": 101}]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            sm.list_secrets(**bad)
        assert e.value.response["Error"]["Code"] == "ValidationException", bad
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def every_order_is_consistent(sm, live, planned=frozenset()):
    """Every order and direction lists exactly the live secrets once (and with
    IncludePlannedDeletion the scheduled ones too), sorted by the dates each entry reports: an
    index entry left where a secret used to sort would list it twice, out of place or not at all."""
    for sort_by, field in ORDERS:
        for sort_order in ["asc", "desc"]:
            entries, _ = every_page(sm, 4, SortBy=sort_by, SortOrder=sort_order)
            assert sorted(e["Name"] for e in entries) == sorted(live), (sort_by, sort_order)
            assert [e["Name"] for e in entries] == expected_order(entries, field, sort_order == "desc")
            entries, _ = every_page(sm, 4, SortBy=sort_by, SortOrder=sort_order, IncludePlannedDeletion=True)
            assert sorted(e["Name"] for e in entries) == sorted(live | planned), (sort_by, sort_order)
            assert [e["Name"] for e in entries] == expected_order(entries, field, sort_order == "desc")


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_every_kind_of_change_keeps_the_orders_consistent(start_server, tmp_path, backend):
    """Index entries move with their secret through every operation that changes a sorted date
    (new value, description, tags, a read on another day, deletion scheduled and restored, forced
    deletion and re-creation under the same name), and nothing is left behind."""
    data_dir = str(tmp_path / "data") if backend == "sqlite" else None

    def start(clock):
        return start_server(["--dev", "--dev-clock-start", clock], data_dir=data_dir)

    srv = start(DAY_ONE)
    sm = boto_client("secretsmanager", srv)
    names_ = [f"{SHAPES[i % len(SHAPES)]}c{i:02d}" for i in range(21)]
    for name in names_:
        sm.create_secret(Name=name, SecretString="v1")
    for name in names_[0:3]:
        sm.put_secret_value(SecretId=name, SecretString="v2")
    for name in names_[3:6]:
        sm.update_secret(SecretId=name, Description="changed")
    sm.tag_resource(SecretId=names_[6], Tags=[{"Key": "k", "Value": "v"}])
    sm.untag_resource(SecretId=names_[7], TagKeys=["absent"])
    for name in names_[8:12]:
        sm.get_secret_value(SecretId=name)
    for name in names_[12:15]:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    sm.restore_secret(SecretId=names_[12])
    for name in names_[15:17]:
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    sm.create_secret(Name=names_[15], SecretString="again")
    planned = set(names_[13:15])
    live = set(names_) - planned - {names_[16]}
    every_order_is_consistent(sm, live, planned)
    if backend == "sqlite":
        # Later, on the same data: a read on another day moves secrets in the last-accessed order,
        # and a secret read twice in a day moves once.
        srv.stop()
        srv = start(DAY_THREE)
        sm = boto_client("secretsmanager", srv)
        for name in names_[8:10] + names_[17:19]:
            sm.get_secret_value(SecretId=name)
            sm.get_secret_value(SecretId=name)
        sm.put_secret_value(SecretId=names_[19], SecretString="v3")
        sm.restore_secret(SecretId=names_[13])
        planned.discard(names_[13])
        live.add(names_[13])
        every_order_is_consistent(sm, live, planned)
        by_access, _ = every_page(sm, None, SortBy="last-accessed-date", SortOrder="desc")
        assert [e["Name"] for e in by_access[:4]] == sorted(names_[8:10] + names_[17:19], key=str.encode, reverse=True)


def legacy_descending_key(prefix, value, name):
    """The key the previous index version (2) gave an entry in a descending table."""
    biased = (value + (1 << 64)) % (1 << 64) ^ (1 << 63)
    inverted = "".join(f"{255 - b:02x}" for b in name.encode())
    return f"{prefix}{(1 << 64) - 1 - biased:020d}/{inverted}g"


def test_a_data_dir_indexed_by_the_previous_version_is_reindexed_on_upgrade(start_server, tmp_path):
    """A data directory written by the previous index version (a descending table per order, each
    entry holding its position as JSON, marker version 2) lists correctly in every order after the
    upgrade, and its first listing rebuilds the indexes: one empty entry per secret and date, the
    descending tables emptied. The old layout is made from a current one with sqlite3 (index
    entries are never encrypted)."""
    import json
    import sqlite3

    data_dir = str(tmp_path / "data")
    srv = start_server(["--dev", "--dev-clock-start", DAY_ONE], data_dir=data_dir)
    sm = boto_client("secretsmanager", srv)
    names_ = [f"{SHAPES[i % len(SHAPES)]}u{i:02d}" for i in range(30)]
    for name in names_:
        sm.create_secret(Name=name, SecretString="v")
    for name in names_[:10]:
        sm.get_secret_value(SecretId=name)
    for name in names_[5:15]:
        sm.update_secret(SecretId=name, Description="changed")
    srv.stop()

    db = sqlite3.connect(f"{data_dir}/coffer.db")
    with db:
        rows = db.execute(
            "SELECT tbl, key FROM coffer_records WHERE tbl IN ('sm_by_created', 'sm_by_changed', 'sm_by_accessed')"
        ).fetchall()
        assert len(rows) == 3 * len(names_)
        legacy = {"sm_by_created": "sm_by_created_desc", "sm_by_changed": "sm_by_changed_desc",
                  "sm_by_accessed": "sm_by_accessed_desc"}
        for tbl, key in rows:
            account, region, digits, name = key.split("/", 3)
            prefix = f"{account}/{region}/"
            unsigned = int(digits) ^ (1 << 63)
            value = unsigned - (1 << 64) if unsigned >= (1 << 63) else unsigned
            position = json.dumps({"k": value, "n": name}).encode()
            db.execute("UPDATE coffer_records SET doc = ? WHERE tbl = ? AND key = ?", (position, tbl, key))
            db.execute("INSERT INTO coffer_records VALUES (?, ?, 1, ?, NULL)",
                       (legacy[tbl], legacy_descending_key(prefix, value, name), position))
            if tbl == "sm_by_created":
                db.execute("INSERT INTO coffer_records VALUES ('sm_by_name_desc', ?, 1, ?, NULL)",
                           (legacy_descending_key(prefix, 0, name), json.dumps({"k": 0, "n": name}).encode()))
        marker = db.execute("SELECT key, doc FROM coffer_records WHERE tbl = 'sm_index_built'").fetchall()
        assert [json.loads(doc) for _, doc in marker] == [{"version": 3}]
        db.execute("UPDATE coffer_records SET doc = ? WHERE tbl = 'sm_index_built'", (b'{"version":2}',))
    db.close()

    srv = start_server(["--dev", "--dev-clock-start", DAY_THREE], data_dir=data_dir)
    sm = boto_client("secretsmanager", srv)
    # A secret written before the first listing: the rebuild indexes it too.
    sm.create_secret(Name="after-upgrade", SecretString="v")
    every_order_is_consistent(sm, set(names_) | {"after-upgrade"})
    srv.stop()

    db = sqlite3.connect(f"{data_dir}/coffer.db")
    counts = dict(db.execute("SELECT tbl, count(*) FROM coffer_records WHERE tbl LIKE 'sm_by_%' GROUP BY tbl").fetchall())
    assert counts == {"sm_by_created": 31, "sm_by_changed": 31, "sm_by_accessed": 31}
    assert db.execute("SELECT count(*) FROM coffer_records WHERE tbl LIKE 'sm_by_%' AND length(doc) > 0").fetchone() == (0,)
    marker = db.execute("SELECT doc FROM coffer_records WHERE tbl = 'sm_index_built'").fetchone()[0]
    assert json.loads(marker) == {"version": 3}
    db.close()
