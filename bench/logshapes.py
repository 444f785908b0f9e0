"""Line shapes for the labelled-log generator (bench/loggen.py), written for it.

A shape is the text of one log statement: `{kind}` is a variable written fresh on every line
(bench/logkinds.py), `<word>` a build word drawn once when the template is made
(bench/logvocab.py). The systems' own statements are in bench/logsystems.py (FAMILIES);
PAIRS are statements that differ from another in exactly one constant word; WRAPPERS and
CLAUSES compose application statements; SYSTEM_COMBOS are a few systems' shapes with build
words.
"""

from __future__ import annotations

from bench.logsystems import SYSTEMS

# One-word pairs: the two statements of a pair differ in exactly one constant word.
PAIRS = (
    ("User {user} logged in from {ip4}", "User {user} logged out from {ip4}"),
    (
        "pam_unix(sshd:session): session opened for user {user}(uid={int}) by (uid=0)",
        "pam_unix(sshd:session): session closed for user {user}(uid={int}) by (uid=0)",
    ),
    (
        "Accepted password for {user} from {ip4} port {port} ssh2",
        "Failed password for {user} from {ip4} port {port} ssh2",
    ),
    ("Connection to {ip4port} opened", "Connection to {ip4port} closed"),
    ("Job {jobid} succeeded after {dur}", "Job {jobid} failed after {dur}"),
    ("Created container {cname}", "Started container {cname}"),
    ("Scaled up replica set {rs} to {small}", "Scaled down replica set {rs} to {small}"),
    ("Node {node} status is now: NodeReady", "Node {node} status is now: NodeNotReady"),
    ("Lock acquired on table {table} by txn {int}", "Lock released on table {table} by txn {int}"),
    ("Health check passed for {ip4port}", "Health check failed for {ip4port}"),
    (
        "Feature flag {table} enabled for tenant {int}",
        "Feature flag {table} disabled for tenant {int}",
    ),
    ("Cache hit for key {userid}", "Cache miss for key {userid}"),
    ("Started {unit}.", "Stopped {unit}."),
    ("Replica {host} is now healthy", "Replica {host} is now unhealthy"),
    (
        "Subscribed to topic {topic} partition {small}",
        "Unsubscribed to topic {topic} partition {small}",
    ),
    ("Mounted {dev} at {path}", "Unmounted {dev} at {path}"),
)

# Application statements are composed: a WRAPPER (how a logging library prints a message: bare,
# with the class that logs, logfmt, JSON, klog, log4j, ...; `<msg>` is the message) around a
# CLAUSE (the message a developer wrote), followed by an optional `<tail>`. Each (wrapper,
# clause) pair is drawn about once or twice, so statements of one exact shape come in ones
# and twos, as in real code ("created order {id}" / "deleted cart {id}").
WRAPPERS = (
    "<msg>",
    "<msg>",
    "<msg>",
    "[<comp>] <msg>",
    "<comp> - <msg>",
    'level=<lvl> ts={iso} caller=<gofile>:{int} msg="<msg>"',
    'time="{iso}" level=<lvl> msg="<msg>" host={host}',
    '{{"level":"<lvl>","ts":{float},"caller":"<gofile>:{int}","msg":"<msg>"}}',
    '{{"@timestamp":"{iso}","log.level":"<LVL>","message":"<msg>","service.name":"<svc>"}}',
    "I{mmdd} {hms_us} {small} <gofile>:{int}] <msg>",
    "{date} {hms_comma} <LVL> [<hthread>] <hclass>: <msg>",
    "[{hms_ms}] <LVL> <comp> - <msg>",
    "{iso} <LVL> {pid} --- [{thread}] <comp> : <msg>",
    "<svc>[{pid}]: <msg>",
)
CLAUSES = (
    "<past> <noun> {uuid} in {dur}",
    "failed to <base> <noun> {uuid}: <reason>",
    "<ing> <noun> for account {int} (attempt {small} of {small})",
    "<past> {int} <noun> records in {dur}",
    "retrying <base> <noun> {reqid} after {dur}: {errtext}",
    "<noun> {uuid} <past> by user {user}",
    "rejected <noun> {int}: <reason>",
    "slow <noun> <base> on {host}: {dur} (threshold {dur})",
    "<noun> {hexid} <past>, took {dur}, size {size}",
    "could not <base> <noun> {int} because <reason>, giving up",
    "<ing> <noun> {uuid} for tenant {int}",
    "skipped <ing> <noun> {int}: already <past>",
    "finished <ing> {int} of {int} <noun> records",
    "<noun> {int} was <past> {int} times in the last {dur}",
    "will <base> <noun> {uuid} at {iso}",
    "started <ing> <noun> batch {int} with {int} items",
    "unable to <base> <noun> for {userid}: {errtext}",
    "timed out <ing> <noun> {reqid} after {dur}",
    "<past> <noun> for {userid} via {ip6port}",
    "<ing> <noun> shard {small}/{small} at {hex}",
    "<noun> queue backlog {int} on {queue} exceeded {int}",
    "<noun> {sha} <past> for {mac}",
    "<noun> cache <past> ({int} entries, {size})",
    "published {int} <noun> events to {topic} in {dur}",
    "consumed <noun> message {int} from {topic} partition {small} offset {int}",
    "circuit breaker opened after {int} failures to <base> <noun>: <reason>",
    "<past> <noun> {int} on behalf of {user}@{host}",
    "{method} {route} <past> <noun> {uuid} in {dur}",
    "<noun> {int} is locked by {user}, cannot <base> it",
    "<past> <noun> {uuid}; {int} left in queue {queue}",
    "request {reqid} to <base> <noun> returned {status} after {dur}",
    "no <noun> found to <base> for {userid}",
    "<noun> {uuid} moved from {host} to {host}",
    "quota for <noun> reached: {int} of {int} used by tenant {int}",
    "<noun> {int} expired at {iso}, <ing> it now",
    "<base> <noun> {uuid} requested by {ip4} with a {size} payload",
    "dropped {int} stale <noun> entries older than {dur}",
    "<noun> checksum mismatch for {path}: expected {hexid}, got {hexid}",
    "loaded {int} <noun> definitions from {path} in {dur}",
    "pool for <noun> work grew to {int} workers ({int} busy)",
    "cannot <base> <noun> {uuid} while it is being <past>",
    "<noun> webhook to {route} failed with {status}: {errtext}",
    "scheduled <ing> of {int} <noun> records at {hms}",
    "<past> <noun> {uuid} (version {small} -> {small})",
    "<noun> {int} has {int} pending changes, <ing> in {dur}",
    "lease on <noun> {uuid} renewed by {host} until {iso}",
    "read {size} of <noun> data from {ip4port} in {dur}",
    "<ing> <noun> {uuid}: step {small} of {small} done",
    "<noun> lookup for {user} missed the cache, took {dur}",
    "duplicate <noun> {uuid} ignored (first seen {dur} ago)",
    "throttled <ing> <noun> for {userid}: {int} requests in {dur}",
    "<noun> export to {path} finished: {int} rows, {size}",
    "<past> <noun> {int} with warnings: <reason>",
    "aborting <ing> <noun> {reqid}: <reason> after {small} attempts",
    "<noun> {uuid} not <past>: <reason>",
    "{int} <noun> records waiting to be <past> on {host}",
    "{user} <past> <noun> {uuid} from {ip4}",
    "{host}: <noun> <past> in {dur}",
)
APP_STATEMENTS = 900  # composed statements to draw (before the distinctness rule)
# Shapes of one system whose build words vary by statement: (shape, statements wanted), few
# each, since a shape drawn many times reads as one statement with variables.
SYSTEM_COMBOS = (
    ("<controller> controller: <ing> <k8skind> {ns}/{pod}", 4),
    ('I{mmdd} {hms_us} {small} <gofile>:{int}] "<k8sphrase>" <k8skind>="{ns}/{pod}"', 4),
    (
        'E{mmdd} {hms_us} {small} <gofile>:{int}] "Reconciler error" err="<reason>" '
        '<k8skind>="{ns}/{pod}" controller="<controller>"',
        3,
    ),
    ("{date} {hms_comma} <LVL> [<hthread>] <hclass>: <hphrase> {jobid}", 6),
    ("{date} {hms_comma} <LVL> <hclass>: <hphrase> {taskid} on {host}", 4),
    ('ERROR: <pgerr> on table "{table}" at character {int}', 4),
    ("[<db>] <dbop> on {table} took {dur} rows={int}", 4),
    ("<proxy> upstream {ip4port} <upevent> after {dur} (<reason>)", 4),
    ("[{uptime}] <driver> {dev}: <kphrase> {hex}", 6),
    ("Task <task> <taskevent> in {dur} (run {uuid})", 4),
)

FAMILIES = SYSTEMS
