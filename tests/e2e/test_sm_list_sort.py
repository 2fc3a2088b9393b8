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
