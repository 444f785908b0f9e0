"""recent_log_entries keeps an entry's services and resource attributes (SQLite and
PostgreSQL), the window's service list names every service, and an entry's context is the
entries of its services around it in time."""

from __future__ import annotations

from gateway.model import Entry
from gateway.store import Store
from tests.builders import T0

LATER = T0 + 10**12  # when the entries expire


def entry(
    body: str,
    service: str = "payments",
    services: dict[str, int] | None = None,
    first_seen: int = T0,
    **fields: object,
) -> Entry:
    counts = services if services is not None else {service: 1}
    made = Entry(
        body, 17, "ERROR", service, sum(counts.values()), first_seen, first_seen, services=counts
    )
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def test_services_and_resource_are_kept_with_their_types(store: Store) -> None:
    resource = {"service.name": "payments", "host.name": "web-3", "pid": 42, "ok": True, "r": 0.5}
    stored = entry(
        "card declined",
        services={"payments": 6, 'we"ird': 3, "": 1},
        services_other=4,
        resource=resource,
    )
    stored.count = 14
    store.add_recent([(stored, LATER)])
    (whole,) = store.recent_after(0, T0, 10)
    (short,) = store.recent_after(0, T0, 10, max_chars=4096)
    for read in (whole.entry, short.entry, store.recent_entry(whole.id, T0).entry):  # type: ignore[union-attr]
        assert read == stored
        assert list(read.services) == ["payments", 'we"ird', ""]  # most first, as stored
        assert read.services_other == 4 and read.resource == resource


def test_a_big_resource_is_left_out_of_a_shortened_read_alone(store: Store) -> None:
    big = entry("x", resource={"process.command_line": "y" * 500})
    store.add_recent([(big, LATER)])
    (short,) = store.recent_after(0, T0, 10, max_chars=200)
    assert short.entry.resource == {} and short.attributes_elided
    assert short.entry.services == {"payments": 1}  # names stay: filters need them
    (fits,) = store.recent_after(0, T0, 10, max_chars=1000)
    assert fits.entry.resource == big.resource and not fits.attributes_elided


def test_the_service_list_names_services_only_aggregates_name(store: Store) -> None:
    store.add_recent(
        [
            (entry("a", "payments", {"payments": 5, "checkout": 3, "auth": 2}), LATER),
            (entry("b", "cart"), LATER),
            (entry("c", "gone", {"gone": 1, "expired": 1}), T0 - 1),
        ]
    )
    assert store.recent_services(T0, 10) == ["auth", "cart", "checkout", "payments"]
    assert store.recent_services(T0, 2) == ["auth", "cart"]


def test_context_is_the_entries_of_its_services_around_it_in_time(store: Store) -> None:
    rows = [
        entry("p-1", "payments", first_seen=T0 + 1),
        entry("c-1", "checkout", first_seen=T0 + 2),
        entry("x-1", "cart", first_seen=T0 + 3),  # another service: never in the context
        entry("agg", "auth", {"auth": 2, "checkout": 1}, first_seen=T0 + 4),  # names checkout
        entry("target", "payments", {"payments": 3, "checkout": 2}, first_seen=T0 + 5),
        entry("p-2", "payments", first_seen=T0 + 6),
        entry("late-arrival", "payments", first_seen=T0 + 2),  # stored later, seen earlier
        entry("a-1", "auth", first_seen=T0 + 7),
        entry("c-2", "checkout", first_seen=T0 + 8),
        entry("p-3", "payments", first_seen=T0 + 9),
        entry("gone", "payments", first_seen=T0 + 10),
    ]
    store.add_recent([(row, LATER) for row in rows[:-1]] + [(rows[-1], T0 - 1)])
    ids = {read.entry.body: read.id for read in store.recent_after(0, T0, 100)}

    found = store.recent_context(ids["target"], T0, before=10, after=10)
    assert found is not None
    assert found.entry.entry.body == "target" and found.services == ("payments", "checkout")
    assert [r.entry.body for r in found.before] == ["p-1", "c-1", "late-arrival", "agg"]
    assert [r.entry.body for r in found.after] == ["p-2", "c-2", "p-3"]
    assert not found.more_before and not found.more_after

    near = store.recent_context(ids["target"], T0, before=2, after=1, max_chars=100)
    assert near is not None
    assert [r.entry.body for r in near.before] == ["late-arrival", "agg"]  # the nearest two
    assert [r.entry.body for r in near.after] == ["p-2"]
    assert near.more_before and near.more_after

    alone = store.recent_context(ids["a-1"], T0, before=5, after=5)
    assert alone is not None and alone.services == ("auth",)
    assert [r.entry.body for r in alone.before] == ["agg"]  # its service, in the aggregate
    assert alone.after == []


def test_context_of_an_unknown_or_expired_entry_is_none(store: Store) -> None:
    store.add_recent([(entry("gone"), T0 - 1)])
    assert store.recent_context(1, T0, 5, 5) is None
    assert store.recent_context(99, T0, 5, 5) is None


def test_context_names_are_matched_exactly(store: Store) -> None:
    store.add_recent(
        [
            (entry("target", "pay"), LATER),
            (entry("longer", "payments", {"payments": 1, "pay-x": 1}), LATER),
            (entry("case", "Pay", {"Pay": 1, "PAY": 1}), LATER),
            (entry("quote", 'a"pay', {'a"pay': 1, '"pay"': 1}), LATER),
            (entry("same", "x", {"x": 1, "pay": 4}), LATER),
        ]
    )
    found = store.recent_context(1, T0, 10, 10)
    assert found is not None
    assert [r.entry.body for r in found.after] == ["same"]
