"""Line shapes for the labelled-log generator (bench/loggen.py), written for it.

A shape is the text of one log statement: `{kind}` is a variable written fresh on every line
(bench/logkinds.py), `<word>` a build word drawn once when the template is made
(bench/logvocab.py). The systems' own statements are in bench/logsystems.py (FAMILIES);
PAIRS are statements that differ from another in exactly one constant word; COMBOS are
shapes with build words, drawn many times to make many statements of one style.
"""

from __future__ import annotations

from bench.logsystems import SYSTEMS, Family

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

COMBOS = Family(
    "app",
    (),
    (
        ("<comp> <past> <noun> {uuid} in {dur}", 45),
        ("Failed to <base> <noun> {uuid}: <reason>", 45),
        ("<comp>: <ing> <noun> for account {int} (attempt {small} of {small})", 35),
        ("<comp> <past> {int} <noun> records in {dur}", 35),
        ("Retrying <base> <noun> {reqid} after {dur}: <reason>", 35),
        ("<noun> {uuid} <past> by user {user}", 30),
        ("<comp> rejected <noun> {int}: <reason>", 30),
        ("Slow <noun> <base> on {host}: {dur} (threshold {dur})", 25),
        ("[<comp>] <noun> {hexid} <past>, took {dur}, size {size}", 30),
        (
            'level=<lvl> ts={iso} caller=<gofile>:{int} msg="<past> <noun>" <key>={uuid} '
            "duration={dur}",
            40,
        ),
        (
            'level=<lvl> ts={iso} caller=<gofile>:{int} component=<gocomp> msg="failed to <base> '
            '<noun>" err="<reason>"',
            40,
        ),
        ('time="{iso}" level=<lvl> msg="<ing> <noun>" <key>={int} host={host}', 30),
        (
            '{{"level":"<lvl>","ts":{float},"caller":"<gofile>:{int}","msg":"<past> <noun>",'
            '"<key>":"{uuid}","latency":"{dur}"}}',
            30,
        ),
        (
            '{{"@timestamp":"{iso}","log.level":"<LVL>","message":"<comp> <past> <noun> {int}",'
            '"service.name":"<svc>"}}',
            25,
        ),
        ("<controller> controller: <ing> <k8skind> {ns}/{pod}", 30),
        ('I{mmdd} {hms_us} {small} <gofile>:{int}] "<k8sphrase>" <k8skind>="{ns}/{pod}"', 30),
        ("Failed to <base> <k8skind> {ns}/{pod}: <reason>", 25),
        ("{date} {hms_comma} <LVL> [<hthread>] <hclass>: <hphrase> {jobid}", 40),
        (
            "{date} {hms_comma} <LVL> [<hthread>] <hclass>: <comp> <past> {int} <noun> records "
            "for {appid}",
            30,
        ),
        ('ERROR: <pgerr> on table "{table}" at character {int}', 10),
        ("[<db>] <dbop> on {table} took {dur} rows={int}", 25),
        ("<proxy> upstream {ip4port} <upevent> after {dur} (<reason>)", 30),
        ("[{uptime}] <driver> {dev}: <kphrase> {hex}", 30),
        ("alert <alert> <astate> for {ns}/{pod}: <metric> = {float} > {float}", 30),
        ("Task <task> <taskevent> in {dur} (run {uuid})", 25),
        ("audit: user {user} <audit> <noun> {int} from {ip4}", 35),
        ("<comp> <past> <noun> for {userid} via {ip6port}", 25),
        ("<gocomp> <ing> <noun> shard {small}/{small} at {hex}", 25),
        ("<comp> <base> <noun> queue backlog {int} on {queue} exceeded {int}", 25),
        ("[{hms_ms}] <LVL> <comp> - <noun> {sha} <past> for {mac}", 25),
    ),
)

FAMILIES = SYSTEMS
