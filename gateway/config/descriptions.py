"""What each config key means, for the generated reference (gateway/config/reference.py).

One entry per key of the models, by its path: a summary (the README's table, so short) and,
when there is more to say, the rest (docs/configuration.md shows both). The key's default,
range and choices are not written here: the generator reads them from the models. A key
added to the models without an entry here (or a `Field(description=...)` on the field) fails
tests/config/test_reference.py, naming the key; so does an entry whose key has gone.

Kept apart from the models so that settings.py holds validation, not prose.
"""

from __future__ import annotations

from typing import NamedTuple


class Doc(NamedTuple):
    summary: str  # the README's cell: a phrase
    more: str = ""  # docs/configuration.md adds this after the summary


DOCS: dict[str, Doc] = {
    "components": Doc(
        "the parts this process runs",
        "Split them to scale each part: several `[ingest]` processes and one `[batch]` (tested"
        " on SQLite and PostgreSQL), and `[viewer]`; on SQLite only one batch component may run"
        " per file (a lock file says so). `processing`, the old name of `batch`, still loads"
        " with a warning.",
    ),
    # -- receivers.otlp.grpc ---------------------------------------------------------------
    "receivers.otlp.grpc.endpoint": Doc(
        "OTLP/gRPC listen address", "`:0` picks a free port (the log says which)."
    ),
    "receivers.otlp.grpc.processes": Doc(
        "processes serving the gRPC port",
        "`logsieve run` starts this many minus one more receivers as child processes on the"
        " same port (SO_REUSEPORT; the kernel spreads connections, and connections are aged"
        " out after 60 s so they spread again): for many small requests on a machine with"
        " cores to spare (see [deployments.md](deployments.md)). Needs a database file or"
        " PostgreSQL; the HTTP receiver stays in one process.",
    ),
    "receivers.otlp.grpc.max_recv_msg_size_mib": Doc("larger requests get RESOURCE_EXHAUSTED"),
    "receivers.otlp.grpc.tls": Doc(
        "`{cert_file, key_file}` (PEM): serve TLS", "Instead of plaintext."
    ),
    "receivers.otlp.grpc.auth": Doc(
        "`{bearer_token}` or `{bearer_token_file}`: calls must carry it",
        "16 characters or more; write `bearer_token: ${env:NAME}` rather than the token itself."
        " Calls without `authorization: Bearer <token>` get UNAUTHENTICATED and write nothing."
        " The token must be ASCII without control characters (a CR or LF would fail every"
        " call: `check-config` refuses it); the whitespace around a file's token (its final"
        " newline) is dropped, a file over 64 KiB refused.",
    ),
    "receivers.otlp.grpc.keepalive.min_ping_interval": Doc(
        "a client pinging more often is sent GOAWAY"
    ),
    "receivers.otlp.grpc.keepalive.max_connection_idle": Doc(
        "a connection with no call for this long is closed"
    ),
    "receivers.otlp.grpc.keepalive.max_concurrent_streams": Doc(
        "calls in flight on one connection"
    ),
    # -- receivers.otlp.http ---------------------------------------------------------------
    "receivers.otlp.http.enabled": Doc(
        "the OTLP/HTTP receiver",
        "`POST /v1/logs`, protobuf or JSON, gzip or deflate (and `/v1/traces`, `/v1/metrics`:"
        " answered, not stored; see the README's *Traces and metrics*).",
    ),
    "receivers.otlp.http.endpoint": Doc("OTLP/HTTP listen address"),
    "receivers.otlp.http.max_request_mib": Doc(
        "request body limit after decompression", "Past it 413, a gzip bomb included."
    ),
    "receivers.otlp.http.tls": Doc("`{cert_file, key_file}` (PEM): serve HTTPS"),
    "receivers.otlp.http.auth": Doc(
        "as for gRPC; without the token 401",
        "A request without `Authorization: Bearer <token>` gets 401 and writes nothing.",
    ),
    "receivers.otlp.http.cors.allowed_origins": Doc(
        "origins of browser pages allowed to send",
        "As `https://shop.example.com`, or `*`; matched exactly. Preflights are answered;"
        " other origins get 403.",
    ),
    "receivers.otlp.http.cors.max_age": Doc("how long a browser may cache a preflight answer"),
    "receivers.otlp.http.browser.max_request_kib": Doc(
        "body limit for browser pages",
        "For requests with an `Origin`. Keep it at 60 or more, the size of the browser"
        " script's full batches.",
    ),
    "receivers.otlp.http.browser.requests_per_second": Doc(
        "rate limit per client address, for browser pages",
        "A token bucket; past it 429 with `Retry-After`.",
    ),
    "receivers.otlp.http.browser.burst": Doc("the bucket's size"),
    "receivers.otlp.http.max_connections": Doc(
        "open connections at once",
        "A kept-alive client holds one; past it new ones wait in the kernel's queue, costing"
        " nothing, until one closes. Lowered at start (one log line says so) to what a quarter"
        " of the open-file limit allows, two descriptors a connection.",
    ),
    "receivers.otlp.http.threads": Doc(
        "requests handled at once",
        "The others wait their turn, already read. With `tls`, each connection has a thread of"
        " its own instead, up to `max_connections`.",
    ),
    "receivers.otlp.http.max_connection_idle": Doc(
        "a kept-alive connection idle this long is closed"
    ),
    "receivers.otlp.http.read_timeout": Doc(
        "a request must have arrived this long after its first byte",
        "Head and body; else the connection is closed, so a client dripping bytes cannot hold"
        " it. Waiting costs no thread.",
    ),
    # -- storage, queue ----------------------------------------------------------------------
    "storage.url": Doc(
        "SQLite file, or PostgreSQL to share one queue",
        "`sqlite:///PATH` (WAL mode), or `postgresql+psycopg://user@host/db` for several"
        " gateways on one queue (install the `postgres` extra).",
    ),
    "storage.sqlite_synchronous": Doc(
        "SQLite: what an acknowledged commit survives",
        "`normal`: a crash of the process (kill -9); `full`: power loss too (an fsync per commit).",
    ),
    "storage.schema": Doc(
        "PostgreSQL: the schema holding logsieve's tables",
        "Created by the migrations when missing, so that several gateways or applications"
        " share a database apart; lower-case letters, digits and `_`. Empty: the role's"
        " `search_path` (normally `public`). Refused with a SQLite URL.",
    ),
    "queue.max_records": Doc(
        "the queue's bound",
        "Past it the receiver answers UNAVAILABLE (HTTP 503) with a RetryInfo delay derived"
        " from how fast the queue drains (1-30 s).",
    ),
    "queue.when_full": Doc(
        "`refuse`, or `drop_lowest_severity` first",
        "`drop_lowest_severity` first deletes the oldest queued records below ERROR (never"
        " ERROR or above, never the head a batch may hold), counted and logged; it refuses when"
        " nothing can go.",
    ),
    "queue.max_record_bytes": Doc(
        "a larger record is left out, in `partial_success`",
        "The rest of its request is accepted.",
    ),
    # -- batch -------------------------------------------------------------------------------
    "batch.interval": Doc(
        "how often the batch stage runs",
        "`processor`, the old name of the `batch` section, still loads with a warning.",
    ),
    "batch.max_batch_records": Doc("rows one claim takes at most", "Bounds memory."),
    "batch.max_batch_bodies": Doc(
        "distinct bodies one batch groups at most",
        "Bounds memory in a flood of new text (about 1 KB a body while grouped): a claim"
        " holding more is cut short at that body and its other rows start the next batch.",
    ),
    "batch.lease": Doc(
        "how long a claimed batch stays with its stage",
        "On the database's clock; then another stage may take it over (a crashed or stalled"
        " gateway's rows come back).",
    ),
    "batch.own_process": Doc(
        "batch, export and purge in a child process",
        "So that they and the receivers each get a core (see"
        " [deployments.md](deployments.md)); ignored for an in-memory SQLite database and when"
        " `components` leaves out ingest or batch.",
    ),
    "batch.dedupe.keys": Doc(
        "what makes records one entry",
        "`pattern` (the body's template) or `body` (the exact text), plus `severity`,"
        " `service.name`.",
    ),
    "batch.dedupe.rules": Doc(
        "other keys for some records; first match wins",
        "Each rule has `match` (`severity_at_least`, `severity`, `service`) and `keys` for"
        " those records, e.g. `{match: {severity_at_least: ERROR}, keys: [body, severity]}`"
        " keeps errors verbatim.",
    ),
    "batch.patterns.masks": Doc(
        "your variables, masked before the built-in ones",
        "`{name: ORDER, regex: ...}` becomes `<ORDER>`; the built-ins mask numbers, ids,"
        " addresses, times and sizes.",
    ),
    "batch.patterns.similarity": Doc(
        "constant tokens two bodies need in common",
        "As a share, to be one template's candidates.",
    ),
    "batch.patterns.max_patterns": Doc(
        "patterns kept", "Past it the least recently seen go (counted)."
    ),
    "batch.patterns.active_patterns": Doc(
        "of those, kept awake in memory",
        "About 1 KB each; the others sleep as an id each (about 0.1 KB) and wake when a body"
        " fits one.",
    ),
    "batch.patterns.top_values": Doc(
        "values kept per variable of an entry, with counts; 0 reads no variables (faster)"
    ),
    "batch.sampling.rules": Doc(
        "keep rates; first match wins",
        "`match` may hold `severity_at_least`, `severity`, `service` (exact service.name),"
        " `body_matches` (a regex); `keep` is 0..1. Every kept entry records its rate, so"
        " totals can be estimated.",
    ),
    "batch.sampling.default_keep": Doc(
        "keep rate when no rule matches", "And for records with no severity (UNSPECIFIED)."
    ),
    "batch.sampling.seed": Doc(
        "mixed into the sampling hash", "Change it to reshuffle which entries are kept."
    ),
    # -- exporters.logflare ----------------------------------------------------------------
    "exporters.logflare.endpoint": Doc("Logflare's API"),
    "exporters.logflare.source": Doc(
        "a source UUID", "Or set `source_name` instead; without either, the exporter is off."
    ),
    "exporters.logflare.source_name": Doc(
        "the source's name, instead of `source`",
        "Sent as `source_name=`; a control character (here or in `source`) is refused.",
    ),
    "exporters.logflare.api_key": Doc(
        "sent only in the `X-API-KEY` header",
        "Masked everywhere else. ASCII without control characters: a pasted newline is refused"
        " by name (`contains a control character (LF)`), never printing the key.",
    ),
    "exporters.logflare.timeout": Doc(
        "the whole request, then it is retried",
        "Connect, sending, the response's head and body: a Logflare trickling bytes cannot"
        " hold the export longer.",
    ),
    "exporters.logflare.max_batch_events": Doc(
        "events per request", "Logflare's advice is at most 500."
    ),
    "exporters.logflare.max_outbox_events": Doc(
        "events that may wait for this exporter",
        "Past it its oldest events below ERROR are dropped (counted in"
        " `logsieve_persistent_dropped_events_total{exporter}`); when only ERROR and above are"
        " left, the batch stage pauses (the queue then fills and the receiver refuses).",
    ),
    "exporters.logflare.retry_initial": Doc(
        "first backoff after a failed request", "It doubles, with jitter."
    ),
    "exporters.logflare.retry_max": Doc(
        "longest backoff",
        "Also the retry period while the API key is refused or the endpoint redirects.",
    ),
    # -- exporters.otlp --------------------------------------------------------------------
    "exporters.otlp.endpoint": Doc(
        "an OTLP backend's URL; empty: off",
        "`https://` is TLS, `http://` plaintext. gRPC: `https://HOST:PORT`; HTTP: the base URL"
        " (`/v1/logs` is appended) or the full URL ending in `/v1/logs`. Credentials go in"
        " `headers`, never in the URL.",
    ),
    "exporters.otlp.protocol": Doc("OTLP/gRPC, or OTLP/HTTP with protobuf bodies"),
    "exporters.otlp.headers": Doc(
        "sent with every request, e.g. an API key",
        "As `{x-api-key: ${env:OTLP_KEY}}`; values are masked in logs and errors. Names are"
        " lower-cased; the exporter's own (`content-type`, `grpc-*`...) are refused, and so is"
        " an empty value (an unset variable).",
    ),
    "exporters.otlp.tls.ca_file": Doc(
        "PEM CAs to trust instead of the system's", "For a private CA or a self-signed server."
    ),
    "exporters.otlp.compression": Doc("of the request bodies"),
    "exporters.otlp.timeout": Doc(
        "the whole request, then it is retried", "A stalled backend cannot hold the export."
    ),
    "exporters.otlp.max_batch_events": Doc(
        "records per request", "Grouped by resource and scope inside it."
    ),
    "exporters.otlp.retry_initial": Doc(
        "first backoff after a failed request",
        "It doubles, with jitter; a RetryInfo or Retry-After from the backend is waited for.",
    ),
    "exporters.otlp.retry_max": Doc(
        "longest backoff", "Also the retry period while the backend refuses the credentials."
    ),
    "exporters.otlp.max_outbox_events": Doc(
        "events that may wait for this exporter",
        "As for Logflare: its oldest below ERROR are dropped past it, counted; other exporters"
        " are not touched.",
    ),
    # -- recent, viewer ----------------------------------------------------------------------
    "recent.ttl": Doc("how long an entry stays on the live page"),
    "recent.purge_interval": Doc("how often expired entries are deleted"),
    "recent.purge_chunk_rows": Doc(
        "rows deleted per purge transaction", "So the purge never holds a long lock."
    ),
    "viewer.endpoint": Doc("the live page, at `/logs`"),
    "viewer.backfill": Doc(
        "newest entries a page receives on connect",
        "Kept rendered by the viewer: an unfiltered backfill costs no read.",
    ),
    "viewer.max_connections": Doc(
        "live pages open at once",
        "Past it a new socket is closed with the reason (code 1013). The viewer's port takes"
        " 32 connections more (page loads), at most an eighth of the open-file limit; past"
        " that a connection is closed at once.",
    ),
    "viewer.max_buffer_kib": Doc(
        "what one page's socket may have waiting",
        "As framed; past it the page is dropped with a `FELL_BEHIND` notice (code 1013) and"
        " resumes from its cursor, losing nothing.",
    ),
    "viewer.max_entry_kib": Doc(
        "longer bodies and attributes are cut in the stream",
        "In KiB of characters; attributes longer than this as JSON are left out, flagged"
        " `shortened`. The page loads the whole entry (`GET /logs/entries/<id>`) when the row"
        " is expanded.",
    ),
    "viewer.own_process": Doc(
        "the viewer in a child process",
        "Nice 10, with its own 4-connection database pool, so that pages cannot take the"
        " receivers' CPU, memory or connections; ignored for an in-memory SQLite database and"
        " when the viewer is the only component.",
    ),
    "viewer.auth_token": Doc(
        "a token the page and its socket need",
        "16 characters or more, no control characters; use `${env:NAME}`. A sign-in form sets"
        " an HttpOnly cookie, programs send `Authorization: Bearer`, `logsieve tail` reads"
        " `LOGSIEVE_VIEWER_TOKEN`. Wrong tokens are rate limited per client address (IPv6:"
        " per /64): 10, then 6 a minute; past that 429 with `Retry-After`, the token not even"
        " compared.",
    ),
    "viewer.trace_url": Doc(
        "a link from an entry's trace id to your tracing UI",
        "`{trace_id}` is replaced by the id, e.g. `https://tempo.example/trace/{trace_id}`;"
        " unset, the trace id is plain text.",
    ),
    # -- telemetry ---------------------------------------------------------------------------
    "telemetry.metrics.enabled": Doc("the gateway's own telemetry endpoint"),
    "telemetry.metrics.endpoint": Doc(
        "`/metrics`, `/healthz`, `/readyz`",
        "Prometheus metrics, alive, and ready (database answers, receivers bound, not shutting"
        " down); 16 connections at most. Not 8888, the Collector's own metrics port, so the"
        " two can run side by side.",
    ),
    "telemetry.logs.format": Doc(
        "the gateway's own logs on stderr: `text` or `json`",
        "`json` is one object a line, for log shippers.",
    ),
    "telemetry.logs.level": Doc("the gateway's own log level"),
    "telemetry.logs.access": Doc(
        "one log line per HTTP request",
        "Method, path, status; probes (`/healthz`, `/readyz`, `/metrics`) and static files"
        " only when they fail.",
    ),
}


def _budget_docs(exporter: str) -> dict[str, Doc]:
    """The budget's keys, the same under every exporter."""
    at = f"exporters.{exporter}.budget."
    return {
        at + "enabled": Doc(
            "hold this exporter to a budget",
            "Entries below ERROR then wait in the store, merged with their key's later entries"
            " (one event, the exact count of a longer window), and go when their wait runs out"
            " (earlier only with tokens a full bucket would lose). See"
            " [Budgets](../README.md#budgets).",
        ),
        at + "events_per_second": Doc(
            "most events/s sent; 0: learn the backend's limit",
            "A 429 halves the rate in use, which then recovers by 2 % of the ceiling a second;"
            " a backend announcing its limit (Logflare's `x-rate-limit-source_limit`) caps it"
            " at 90 % of that, and a remaining allowance under 10 % slows it down.",
        ),
        at + "burst": Doc("events sent at once past the rate; 0: one second's worth"),
        at + "max_wait": Doc(
            "longest wait per band, e.g. `{WARN: 1m, INFO: 5m}`",
            "Bands left out keep the shipped waits: FATAL and ERROR 0 (never held: they cannot"
            " be set otherwise), WARN 1m, INFO, DEBUG, TRACE and unspecified 5m.",
        ),
        at + "always_first": Doc(
            "events of each key per `window` never sampled out",
            "Sampling is the last resort: only when the entries whose wait ran out do not fit"
            " are they sampled, lowest bands first, each sent one carrying its `sample_rate`;"
            " a key's first events of the window always go.",
        ),
        at + "window": Doc("the period `always_first` counts over"),
        at + "max_held_entries": Doc(
            "most entries held at once",
            "A held entry is one row per key; past this bound a new key's entry is due at once:"
            " sent if the budget has room, else sampled by band (counted in"
            " `logsieve_persistent_budget_overflow_entries_total`).",
        ),
    }


DOCS |= _budget_docs("logflare") | _budget_docs("otlp")
