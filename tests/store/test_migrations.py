"""Schema versions: `logsieve migrate` from an empty database and from older schemas with
records in the queue and dead letters; a gateway refuses a schema it does not know;
`logsieve init-config`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway import severity
from gateway.cli import main as cli
from gateway.errors import SchemaMismatch
from gateway.export.logflare import event_json
from gateway.model import Entry, LearnedPattern, PatternRef, VariableValues
from gateway.otlp import rows_from_request
from gateway.store import SCHEMA_VERSION, Store, _migrations
from gateway.store._rows import recent_values
from gateway.store._schema import RECENT_COLUMNS
from tests.builders import T0, Rec, request
from tests.conftest import PG_URL

REPO = Path(__file__).resolve().parents[2]


def url_of(store: Store) -> str:
    return f"sqlite:///{store.path}" if store.dialect == "sqlite" else PG_URL


def config_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"storage: {{url: '{url}'}}\n"
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        "viewer: {endpoint: '127.0.0.1:0'}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return path


# What each version added, undone: the statements that take a database from version N back
# to N - 1 (what a database made by that older release looks like).
UNDO = {
    6: [  # several exporters: which one each outbox row and dead letter belongs to
        "DROP INDEX ix_export_outbox_exporter",
        "ALTER TABLE export_outbox DROP COLUMN exporter",
        "ALTER TABLE dead_letter DROP COLUMN exporter",
    ],
    5: [  # attribution: recent entries' services and resource attributes
        f"ALTER TABLE recent_log_entries DROP COLUMN {column}"
        for column in ("services", "resource")
    ],
    4: [  # patterns, and recent entries holding them
        "DROP TABLE log_pattern",
        "DROP TABLE pattern_alias",
        *(
            f"ALTER TABLE recent_log_entries DROP COLUMN {column}"
            for column in ("pattern_id", "pattern_template", "pattern_variables")
        ),
    ],
    3: ["ALTER TABLE dead_letter DROP COLUMN severity_number"],  # dead letters' severity
    2: ["DROP TABLE export_health"],
}


def set_back_to(url: str, version: int) -> None:
    """Undo every step above `version`, newest first, and say so in logsieve_schema."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for step in sorted((v for v in UNDO if v > version), reverse=True):
            for statement in UNDO[step]:
                conn.execute(text(statement))
        conn.execute(text("UPDATE logsieve_schema SET version = :v"), {"v": version})
    engine.dispose()


def set_version(url: str, version: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE logsieve_schema SET version = :v"), {"v": version})
    engine.dispose()


@pytest.mark.usefixtures("restore_logging")  # `logsieve run` configures the root logger
def test_migrate_upgrades_the_previous_schema_and_keeps_every_queued_record(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store.enqueue(
        rows_from_request(request([Rec(f"r{i}") for i in range(5)]), T0, store.origin_ids).rows
    )
    url = url_of(store)
    set_back_to(url, 1)
    old = Store(url)
    with pytest.raises(SchemaMismatch, match="run `logsieve migrate"):
        old.create_schema()  # what a gateway does at start: it refuses, it does not guess
    old.dispose()
    config = config_file(tmp_path, url)
    assert cli.main(["run", "--config", str(config)]) == cli.EXIT_FAILURE

    assert cli.main(["migrate", "--config", str(config)]) == cli.EXIT_OK
    assert f"from version 1 to {SCHEMA_VERSION}" in capsys.readouterr().out
    upgraded = Store(url)
    upgraded.create_schema()  # now accepted
    assert upgraded.schema_version() == SCHEMA_VERSION
    assert upgraded.queue_depth() == 5
    claim = upgraded.claim_batch(1, 10**9, 10)
    assert [row[3] for row in claim.rows] == [f"r{i}" for i in range(5)]
    upgraded.record_export_result("logflare", T0, None)  # the table version 2 added is there
    upgraded.release(claim)
    upgraded.dispose()
    assert cli.main(["migrate", "--config", str(config)]) == cli.EXIT_OK
    assert "nothing to do" in capsys.readouterr().out


def written_by_version_2(body: str, number: int, band: str) -> str:
    """A dead letter's event as a version-2 gateway stored it: the Logflare encoder's text."""
    return event_json(Entry(body, number, band, "api", 1, T0, T0), T0)


# Dead letters as version 2 left them, and the severity version 3 must give each.
LEGACY_DEAD_LETTERS = [
    (written_by_version_2("boom", 17, "ERROR"), 17),
    (written_by_version_2("fine", 9, "INFO"), 9),
    (written_by_version_2("dying", 21, "FATAL"), 21),
    ('{"metadata": {"severity_number": true}}', 0),  # junk, and hand-made events
    ('{"metadata": {"severity_number": 99}}', 0),
    ('{"metadata": {"severity_number": "17"}}', 0),
    ('{"metadata": "17"}', 0),
    ("[17]", 0),
    ("not json", 0),
    ("[" * 100_000, 0),
]


def add_dead_letters_to(url: str, events: list[str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO dead_letter (created_at, event, reason) VALUES (:t, :e, 'HTTP 400')"),
            [{"t": T0, "e": event} for event in events],
        )
    engine.dispose()


def dead_letter_severities(url: str) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        query = text("SELECT severity_number FROM dead_letter ORDER BY id")
        numbers = [int(number) for number in conn.execute(query).scalars()]
    engine.dispose()
    return numbers


def test_migrate_from_version_2_gives_dead_letters_the_severity_their_events_hold(
    store: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = url_of(store)
    set_back_to(url, 2)
    add_dead_letters_to(url, [event for event, _ in LEGACY_DEAD_LETTERS])
    monkeypatch.setattr(_migrations, "FILL_CHUNK", 3)  # several chunks, one partial
    config = config_file(tmp_path, url)

    assert cli.main(["migrate", "--config", str(config)]) == cli.EXIT_OK
    assert f"from version 2 to {SCHEMA_VERSION}" in capsys.readouterr().out
    assert dead_letter_severities(url) == [number for _, number in LEGACY_DEAD_LETTERS]
    upgraded = Store(url)
    upgraded.create_schema()
    ids = [letter.id for letter in upgraded.dead_letter_page(0, 100)]
    assert upgraded.retry_dead_letters(ids, T0) == len(LEGACY_DEAD_LETTERS)
    upgraded.drop_outbox_lowest_severity("logflare", 100, severity.ERROR_NUMBER)
    kept = [event for _, event in upgraded.outbox_peek("logflare", 100)]
    assert kept == [LEGACY_DEAD_LETTERS[0][0], LEGACY_DEAD_LETTERS[2][0]]  # ERROR and FATAL
    upgraded.dispose()


# The columns of recent_log_entries each version added (they come last, in this order).
RECENT_ADDED = {
    4: ("pattern_id", "pattern_template", "pattern_variables"),
    5: ("services", "resource"),
}


def add_old_recent_entry(
    url: str, body: str, version: int, pattern: PatternRef | None = None
) -> None:
    """A recent entry as a gateway of `version` wrote it: without the later columns."""
    engine = create_engine(url)
    later = {name for added, names in RECENT_ADDED.items() if added > version for name in names}
    columns = [name for name in RECENT_COLUMNS if name not in later]
    entry = Entry(body, 9, "INFO", "api", 2, T0, T0, {"k": 1}, pattern=pattern)
    values = recent_values(entry, T0 + 10**12)[: len(columns)]
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO recent_log_entries ({', '.join(columns)})"
                f" VALUES ({', '.join(':' + name for name in columns)})"
            ),
            dict(zip(columns, values, strict=True)),
        )
    engine.dispose()


def refused_then_migrated(
    url: str, version: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Store:
    """A gateway refuses the old schema; `logsieve migrate` upgrades it; the upgraded store."""
    old = Store(url)
    with pytest.raises(SchemaMismatch, match="run `logsieve migrate"):
        old.create_schema()
    old.dispose()
    assert cli.main(["migrate", "--config", str(config_file(tmp_path, url))]) == cli.EXIT_OK
    assert f"from version {version} to {SCHEMA_VERSION}" in capsys.readouterr().out
    upgraded = Store(url)
    upgraded.create_schema()
    return upgraded


def test_migrate_from_version_3_adds_patterns_and_keeps_recent_entries_without_one(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url_of(store)
    set_back_to(url, 3)
    add_old_recent_entry(url, "written by version 3", 3)
    upgraded = refused_then_migrated(url, 3, tmp_path, capsys)
    (kept,) = upgraded.recent_after(0, T0, 10)
    assert kept.entry == Entry("written by version 3", 9, "INFO", "api", 2, T0, T0, {"k": 1})
    assert upgraded.recent_after(0, T0, 10, max_chars=5)[0].entry.pattern is None
    pattern = PatternRef(7, "user <*> logged in", (VariableValues((("ann", 2),), 0, 1),))
    upgraded.add_recent(
        [(Entry("user ann logged in", 9, "INFO", "api", 2, T0, T0, pattern=pattern), T0 + 1)]
    )
    assert upgraded.recent_after(kept.id, T0, 10)[0].entry.pattern == pattern
    upgraded.add_patterns(
        [LearnedPattern(7, "user <*> logged in", T0, T0, 2, "user ann logged in")]
    )
    assert [found.count for found in upgraded.known_patterns(10)] == [2]
    upgraded.dispose()


def test_migrate_creates_an_empty_database_at_the_latest_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert cli.main(["migrate", "--config", str(config_file(tmp_path, url))]) == cli.EXIT_OK
    assert f"created the schema at version {SCHEMA_VERSION}" in capsys.readouterr().out
    store = Store(url)
    store.create_schema()
    assert store.schema_version() == SCHEMA_VERSION and store.queue_depth() == 0
    store.dispose()


def test_a_schema_newer_than_the_gateway_is_refused(store: Store, tmp_path: Path) -> None:
    url = url_of(store)
    set_version(url, SCHEMA_VERSION + 1)
    newer = Store(url)
    with pytest.raises(SchemaMismatch, match="newer than this gateway knows"):
        newer.create_schema()
    newer.dispose()
    assert cli.main(["migrate", "--config", str(config_file(tmp_path, url))]) == cli.EXIT_FAILURE
    set_version(url, SCHEMA_VERSION)  # so the fixture can drop it cleanly


def test_init_config_writes_the_commented_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "etc" / "logsieve.yaml"
    assert cli.main(["init-config", str(target)]) == cli.EXIT_OK
    written = target.read_text()
    assert written == (REPO / "config" / "gateway.yaml").read_text()  # one default, no drift
    assert "# " in written  # commented for people
    assert cli.main(["check-config", str(target)]) == cli.EXIT_OK
    assert cli.main(["init-config", str(target)]) == cli.EXIT_FAILURE  # never overwrites
    assert cli.main(["init-config", str(target), "--force"]) == cli.EXIT_OK


def test_migrate_from_version_4_adds_attribution_and_keeps_recent_entries_without_it(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url_of(store)
    set_back_to(url, 4)
    pattern = PatternRef(7, "user <*> logged in", (VariableValues((("ann", 2),), 0, 1),))
    add_old_recent_entry(url, "written by version 4", 4, pattern)
    upgraded = refused_then_migrated(url, 4, tmp_path, capsys)
    (kept,) = upgraded.recent_after(0, T0, 10)
    written = Entry("written by version 4", 9, "INFO", "api", 2, T0, T0, {"k": 1}, pattern=pattern)
    assert kept.entry == written  # no services, no resource: none were recorded
    assert upgraded.recent_after(0, T0, 10, max_chars=5)[0].entry.resource == {}
    assert upgraded.recent_services(T0, 10) == ["api"]
    context = upgraded.recent_context(kept.id, T0, 5, 5)
    assert context is not None and context.services == ("api",)
    newer = Entry("new", 9, "INFO", "api", 3, T0, T0, services={"api": 2, "web": 1})
    newer.resource = {"host.name": "h"}
    upgraded.add_recent([(newer, T0 + 1)])
    assert upgraded.recent_after(kept.id, T0, 10)[0].entry == newer
    assert upgraded.recent_services(T0, 10) == ["api", "web"]
    upgraded.dispose()


def test_migrate_from_version_5_gives_outbox_rows_and_dead_letters_to_logflare(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before version 6 Logflare was the only exporter: what waits for it, or was refused by
    it, stays its own."""
    url = url_of(store)
    set_back_to(url, 5)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO export_outbox (created_at, event, severity_number) VALUES (:t, :e, 9)"
            ),
            [{"t": T0, "e": f'{{"n":{n}}}'} for n in range(3)],
        )
        conn.execute(
            text(
                "INSERT INTO dead_letter (created_at, event, reason, severity_number)"
                " VALUES (:t, 'dead', 'HTTP 400', 17)"
            ),
            {"t": T0},
        )
    engine.dispose()
    assert cli.main(["migrate", "--config", str(config_file(tmp_path, url))]) == cli.EXIT_OK
    assert f"from version 5 to {SCHEMA_VERSION}" in capsys.readouterr().out
    upgraded = Store(url)
    upgraded.create_schema()
    assert upgraded.outbox_depths() == {"logflare": 3}
    assert [event for _, event in upgraded.outbox_peek("logflare", 10)] == [
        '{"n":0}',
        '{"n":1}',
        '{"n":2}',
    ]
    assert [letter.exporter for letter in upgraded.dead_letter_page(0, 10)] == ["logflare"]
    assert upgraded.outbox_claim("otlp", 1, 10**9, 10) == []
    upgraded.dispose()
