"""The fixed statements of many systems, for the labelled-log generator (bench/loggen.py),
written for it: HDFS block operations, sshd, HTTP access and error lines, JVM and GC,
Kubernetes, databases, Spark and Hadoop, the kernel, systemd and a platform's own lines.
`{kind}` is a variable (bench/logkinds.py); `{{` and `}}` are literal braces.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    name: str  # the system the lines come from; also the service that sends them
    fixed: tuple[str, ...]


HDFS = Family(
    "hdfs-datanode",
    (
        "Receiving block {blk} src: /{ip4port} dest: /{ip4port}",
        "Received block {blk} of size {int} from /{ip4}",
        "PacketResponder {small} for block {blk} terminating",
        "BLOCK* NameSystem.allocateBlock: {path}. {blk}",
        "BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip4port} is added to {blk} size "
        "{int}",
        "{ip4port}:Transmitted block {blk} to /{ip4port}",
        "{ip4port} Starting thread to transfer block {blk} to {ip4port}",
        "Deleting block {blk} file {path}",
        "BLOCK* ask {ip4port} to delete {blk}",
        "Verification succeeded for {blk}",
        "writeBlock {blk} received exception java.io.IOException: Connection reset by peer",
        "Exception in receiveBlock for block {blk} java.io.EOFException",
        "Unexpected error trying to delete block {blk}. BlockInfo not found in volumeMap.",
        "{ip4port}:Got exception while serving {blk} to /{ip4}:",
        "BLOCK* NameSystem.delete: {blk} is added to invalidSet of {ip4port}",
        "Changing block file offset of block {blk} from {int} to {int} meta file offset to {int}",
        "Slow BlockReceiver write data to disk cost:{int}ms (threshold=300ms)",
        "DatanodeRegistration({ip4port}, storageID=DS-{int}-{ip4}-{port}-{int}) Served block",
        "BlockReport of {int} blocks took {int} msec to generate and {int} msecs for RPC",
        "Scheduling {blk} file {path} for deletion",
        "Starting CheckDiskError Thread after volume {path} failed with {int} errors",
        "Block pool scanner started",
        "Shutting down DataNode from the shutdown hook",
        "Scheduled block report is due, sending it now",
    ),
)
SSHD = Family(
    "sshd",
    (
        "Failed password for invalid user {user} from {ip4} port {port} ssh2",
        "Invalid user {user} from {ip4} port {port}",
        "Received disconnect from {ip4} port {port}:11: Bye Bye [preauth]",
        "Disconnected from authenticating user {user} {ip4} port {port} [preauth]",
        "Connection closed by {ip4} port {port} [preauth]",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost={ip4} user={user}",
        "error: maximum authentication attempts exceeded for {user} from {ip4} port {port} ssh2 "
        "[preauth]",
        "reverse mapping checking getaddrinfo for {host} [{ip4}] failed - POSSIBLE BREAK-IN "
        "ATTEMPT!",
        "Did not receive identification string from {ip4} port {port}",
        "Server listening on {ip4} port {port}.",
        "Server listening on :: port {port} (IPv6 only).",
        "PAM {small} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost={ip4}",
        "fatal: Timeout before authentication for {ip4} port {port}",
        "{user} : TTY=pts/{small} ; PWD={path} ; USER=root ; COMMAND={path}",
        "pam_unix(cron:session): session closed for user {user}",
        "({user}) CMD ({path} > /dev/null 2>&1)",
        "Accepted publickey for {user} from {ip6} port {port} ssh2: ED25519 SHA256:{sha}",
        "Unable to negotiate with {ip4} port {port}: no matching key exchange method found.",
        "check pass; user unknown",
        "Postponed publickey for {user} from {ip4} port {port} ssh2 [preauth]",
        "Received signal 15; terminating.",
        "error: kex_exchange_identification: Connection closed by remote host",
    ),
)
HTTP = Family(
    "nginx",
    (
        '{ip4} - - [{clf} +0000] "{method} {route} HTTP/1.1" {status} {int} "-" "{browser}"',
        '{ip4} - {user} [{clf} +0000] "{method} {route} HTTP/2.0" {status} {int} "-" "{agent}" '
        "{float}",
        "{date} {hms} [error] {int}#{int}: *{int} connect() failed (111: Connection refused) "
        'while connecting to upstream, client: {ip4}, server: {host}, request: "{method} {route} '
        'HTTP/1.1", upstream: "http://{ip4port}{route}", host: "{host}"',
        "{date} {hms} [error] {int}#{int}: *{int} upstream timed out (110: Connection timed out) "
        "while reading response header from upstream, client: {ip4}, server: {host}",
        "{date} {hms} [warn] {int}#{int}: *{int} an upstream response is buffered to a "
        "temporary file {path} while reading upstream",
        "{date} {hms} [error] {int}#{int}: *{int} open() {path} failed (2: No such file or "
        "directory), client: {ip4}, server: {host}",
        "[{month} {small} {hms_us} {int}] [core:error] [pid {pid}] [client {ip4port}] AH00126: "
        "Invalid URI in request {method} {route} HTTP/1.1",
        "[GIN] {date} - {hms} | {status} | {dur} | {ip4} | {method} {route}",
        "{method} {route} {status} {dur} {size}",
        "{ip6port} {method} {route} -> {status} in {dur}",
        "{date} {hms} [notice] {int}#{int}: signal process started",
        "{date} {hms} [crit] {int}#{int}: *{int} SSL_do_handshake() failed while SSL "
        "handshaking, client: {ip4}, server: {ip4port}",
        "[{iso}] {method} {route} HTTP/1.1 {status} {size} upstream={ip4port} "
        "upstream_time={float} request_id={sha}",
        "{ip4}:{port} [{clf}.{small}] http-in~ be_{table}/{host} {int}/{int}/{int}/{int}/{int} "
        "{status} {int} - - ---- {int}/{int}/{int}/{int}/{int} {int}/{int} "
        '"{method} {route} HTTP/1.1"',
        "Request finished HTTP/1.1 {method} http://{host}{route} - {status} {int} "
        "application/json {float}ms",
        "worker process is shutting down",
        'using the "epoll" event method',
        "gracefully shutting down",
    ),
)
JVM = Family(
    "jvm",
    (
        "[{float}s][info][gc] GC({int}) Pause Young (Normal) (G1 Evacuation Pause) "
        "{int}M->{int}M({int}M) {float}ms",
        "[{float}s][info][gc] GC({int}) Pause Full (System.gc()) {int}M->{int}M({int}M) {float}ms",
        "[{float}s][info][gc,heap] GC({int}) Eden regions: {int}->{int}({int})",
        "[{float}s][info][gc,heap] GC({int}) Humongous regions: {int}->{int}",
        "[{float}s][info][gc,cpu] GC({int}) User={float}s Sys={float}s Real={float}s",
        "[GC (Allocation Failure) [PSYoungGen: {int}K->{int}K({int}K)] {int}K->{int}K({int}K), "
        "{float} secs] [Times: user={float} sys={float}, real={float} secs]",
        'Exception in thread "{thread}" java.lang.OutOfMemoryError: Java heap space',
        "Started {cname} in {float} seconds (process running for {float})",
        "HikariPool-{small} - Connection is not available, request timed out after {int}ms.",
        "HikariPool-{small} - Start completed.",
        "HikariPool-{small} - Thread starvation or clock leap detected (housekeeper delta={dur}).",
        "Tomcat started on port(s): {port} (http) with context path ''",
        "Initializing Spring DispatcherServlet 'dispatcherServlet'",
        "Completed initialization in {int} ms",
        "Resolved [org.springframework.web.HttpRequestMethodNotSupportedException: Request "
        "method '{method}' is not supported]",
        "Servlet.service() for servlet [dispatcherServlet] threw exception "
        "java.net.SocketTimeoutException: Read timed out",
        "Caused by: java.net.ConnectException: Connection refused (Connection refused)",
        "Caused by: java.io.IOException: {errtext}",
        "Caused by: org.postgresql.util.PSQLException: FATAL: sorry, too many clients already",
        "Kafka version: 3.{small}.{small}",
        "[Consumer clientId={cname}-{small}, groupId={cname}] Resetting offset for partition "
        "{topic}-{small} to position FetchPosition{{offset={int}, offsetEpoch=Optional.empty}}.",
        "[Producer clientId=producer-{small}] Node {small} disconnected.",
        "Thread pool {thread} is exhausted, active={int} queued={int} max={int}",
        "Shutdown hook invoked, closing application context",
        "Root WebApplicationContext: initialization completed",
        "No active profile set, falling back to default profiles: default",
        "Commencing graceful shutdown. Waiting for active requests to complete",
    ),
)
K8S = Family(
    "kubelet",
    (
        "Successfully assigned {ns}/{pod} to {node}",
        'Pulling image "{image}"',
        'Successfully pulled image "{image}" in {dur} (total {dur} including waiting)',
        "Back-off restarting failed container {cname} in pod {pod}_{ns}({uuid})",
        'Liveness probe failed: Get "http://{ip4port}/healthz": {errtext}',
        "Readiness probe failed: HTTP probe failed with statuscode: {status}",
        'MountVolume.SetUp failed for volume "{table}-config" : configmap "{table}-config" not '
        "found",
        "0/{small} nodes are available: {small} Insufficient cpu, {small} node(s) had untolerated "
        "taint {{node.kubernetes.io/unreachable: }}.",
        "Evicted pod: {ns}/{pod}",
        "Deleted pod: {pod}",
        "Created pod: {pod} in {ns} for job {jobid}",
        'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to resolve '
        "reference",
        "Memory cgroup out of memory: Killed process {pid} ({proc}) total-vm:{int}kB, "
        "anon-rss:{int}kB, file-rss:{int}kB, shmem-rss:0kB, UID:{int} pgtables:{int}kB "
        "oom_score_adj:{int}",
        'Container image "{image}" already present on machine',
        "Stopping container {cname} with a grace period of {small} seconds",
        "Job {ns}/{cname}-{int} has been completed",
        'Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"{cname}\\" with '
        'CrashLoopBackOff" pod="{ns}/{pod}" podUID={uuid}',
        "attempting to acquire leader lease {ns}/{cname}...",
        "successfully acquired lease {ns}/{cname}",
        "Deleting orphaned cgroup for pod {uuid}",
        'Unable to attach or mount volumes for pod "{pod}_{ns}({uuid})": timed out waiting '
        "for the condition",
        "Starting kubelet main sync loop.",
        "Volume is already mounted to pod, but remount was requested.",
        "Cannot find secret in the namespace, skipping image pull credentials",
    ),
)
DATABASE = Family(
    "postgres",
    (
        'ERROR: duplicate key value violates unique constraint "{table}_pkey"',
        "DETAIL: Key (id)=({int}) already exists.",
        'FATAL: password authentication failed for user "{user}"',
        "FATAL: remaining connection slots are reserved for non-replication superuser connections",
        "LOG: checkpoint complete: wrote {int} buffers ({float}%); {int} WAL file(s) added, "
        "{int} removed, {int} recycled; write={float} s, sync={float} s, total={float} s",
        "LOG: checkpoint starting: time",
        "ERROR: deadlock detected",
        "DETAIL: Process {pid} waits for ShareLock on transaction {int}; blocked by process {pid}.",
        "LOG: duration: {float} ms statement: SELECT * FROM {table} WHERE id = $1",
        'ERROR: relation "{table}" does not exist at character {int}',
        "ERROR: canceling statement due to statement timeout",
        'LOG: automatic vacuum of table "{db}.public.{table}": index scans: {small}',
        "LOG: connection received: host={ip4} port={port}",
        "LOG: connection authorized: user={user} database={db} application_name={cname}",
        "LOG: disconnection: session time: {hms_ms} user={user} database={db} host={ip4} "
        "port={port}",
        "Aborted connection {int} to db: '{db}' user: '{user}' host: '{ip4}' (Got an error "
        "reading communication packets)",
        "[Warning] Access denied for user '{user}'@'{ip4}' (using password: YES)",
        "[Note] Start binlog_dump to master_thread_id({int}) slave_server({int}), "
        "pos(mysql-bin.{int}, {int})",
        "InnoDB: page_cleaner: 1000ms intended loop took {int}ms. The settings might not be "
        "optimal.",
        "{iso} {int} [Note] [MY-010051] [Server] Event Scheduler: scheduler thread started "
        "with id {int}",
        '{{"t":{{"$date":"{iso}"}},"s":"I","c":"NETWORK","id":22943,"ctx":"listener",'
        '"msg":"Connection accepted","attr":{{"remote":"{ip4port}","connectionId":{int}}}}}',
        '{{"t":{{"$date":"{iso}"}},"s":"I","c":"COMMAND","id":51803,"ctx":"conn{int}",'
        '"msg":"Slow query","attr":{{"ns":"{db}.{table}","durationMillis":{int}}}}}',
        "{pid}:M {date} {hms_ms} * Background saving started by pid {pid}",
        "{pid}:M {date} {hms_ms} * DB saved on disk",
        "{pid}:C {date} {hms_ms} * Fork CoW for RDB: current {int} MB, peak {int} MB, average "
        "{int} MB",
        "LOG: database system is ready to accept connections",
        "LOG: received fast shutdown request",
        "LOG: aborting any active transactions",
        "WARNING: there is no transaction in progress",
        "LOG: autovacuum launcher started",
    ),
)
SPARK = Family(
    "spark",
    (
        "Starting task {float} in stage {float} (TID {int}, {host}, executor {int}, partition "
        "{int}, PROCESS_LOCAL, {int} bytes)",
        "Finished task {float} in stage {float} (TID {int}) in {int} ms on {host} (executor "
        "{int}) ({int}/{int})",
        "Lost task {float} in stage {float} (TID {int}, {host}, executor {int}): "
        "java.io.IOException: Connection reset by peer",
        "Block {rdd} stored as values in memory (estimated size {float} KB, free {float} GB)",
        "Added {rdd} in memory on {host}:{port} (size: {float} KB, free: {float} GB)",
        "Got assigned task {int}",
        "Running task {float} in stage {float} (TID {int})",
        "Executor {int} on {host} killed by driver.",
        "Submitting {int} missing tasks from ResultStage {int} (MapPartitionsRDD[{int}] at "
        "{cname} at NativeMethodAccessorImpl.java:0)",
        "Job {int} finished: collect at {cname}.scala:{int}, took {float} s",
        "{date} {hms_comma} INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created "
        "MRAppMaster for application {appattempt}",
        "{date} {hms_comma} INFO [AsyncDispatcher event handler] "
        "org.apache.hadoop.mapreduce.v2.app.job.impl.TaskAttemptImpl: {attempt} TaskAttempt "
        "Transitioned from NEW to UNASSIGNED",
        "{date} {hms_comma} INFO [AsyncDispatcher event handler] "
        "org.apache.hadoop.mapreduce.v2.app.job.impl.TaskAttemptImpl: {attempt} TaskAttempt "
        "Transitioned from UNASSIGNED to ASSIGNED",
        "{date} {hms_comma} INFO [AsyncDispatcher event handler] "
        "org.apache.hadoop.mapreduce.v2.app.job.impl.TaskImpl: {taskid} Task Transitioned from "
        "SCHEDULED to RUNNING",
        "{date} {hms_comma} INFO [RMCommunicator Allocator] "
        "org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator: Assigned container "
        "{yarncontainer} to {attempt}",
        "{date} {hms_comma} WARN [LeaseRenewer:{user}@{host}:{port}] "
        "org.apache.hadoop.hdfs.LeaseRenewer: Failed to renew lease for "
        "[DFSClient_NONMAPREDUCE_{int}_{small}] for {int} seconds. Will retry shortly ...",
        "{date} {hms_comma} INFO [main] org.apache.hadoop.yarn.client.RMProxy: Connecting to "
        "ResourceManager at {host}/{ip4port}",
        "{date} {hms_comma} INFO [IPC Server handler {small} on {port}] "
        "org.apache.hadoop.mapred.TaskAttemptListenerImpl: Progress of TaskAttempt {attempt} is "
        ": {float}",
        "Application report for {appid} (state: RUNNING)",
        "Submitted application {appid}",
        "Shutdown hook called",
        "Successfully stopped SparkContext",
        "MemoryStore cleared",
        "Stopping BlockManager and its block transfer service",
        "Registered executor NettyRpcEndpointRef(spark-client://Executor) ({ip4port}) with ID "
        "{int}",
    ),
)
KERNEL = Family(
    "kernel",
    (
        "[{uptime}] Out of memory: Killed process {pid} ({proc}) total-vm:{int}kB, "
        "anon-rss:{int}kB, file-rss:{int}kB, shmem-rss:{int}kB, UID:{int} pgtables:{int}kB "
        "oom_score_adj:{int}",
        "[{uptime}] EXT4-fs ({dev}): mounted filesystem with ordered data mode. Opts: (null)",
        "[{uptime}] {iface}: Link is Up - 1Gbps/Full - flow control rx/tx",
        "[{uptime}] {iface}: Link is Down",
        "[{uptime}] TCP: request_sock_TCP: Possible SYN flooding on port {port}. Sending "
        "cookies. Check SNMP counters.",
        "[{uptime}] nf_conntrack: nf_conntrack: table full, dropping packet",
        "[{uptime}] blk_update_request: I/O error, dev {dev}, sector {int} op 0x0:(READ) flags "
        "0x0 phys_seg {int} prio class 0",
        "[{uptime}] {proc}[{pid}]: segfault at {hexid} ip {hexid} sp {hexid} error 4 in "
        "libc.so.6[{hexid}+{hex}]",
        "[{uptime}] usb 1-1: new high-speed USB device number {int} using xhci_hcd",
        "[{uptime}] CPU{small}: Core temperature above threshold, cpu clock throttled (total "
        "events = {int})",
        '[{uptime}] audit: type=1400 audit({float}:{int}): apparmor="DENIED" operation="open" '
        'profile="{path}" name="{path}" pid={pid} comm="{proc}" requested_mask="r" '
        'denied_mask="r" fsuid={int} ouid={int}',
        "[{uptime}] device {iface} entered promiscuous mode",
        "[{uptime}] {iface}: renamed from {iface}",
        "[{uptime}] IPv6: ADDRCONF(NETDEV_CHANGE): {iface}: link becomes ready",
        "[{uptime}] INFO: task {proc}:{pid} blocked for more than {int} seconds.",
        "[{uptime}] XFS ({dev}): Metadata corruption detected at xfs_inode_buf_verify+{hex}/"
        "{hex}, inode {hex}",
        "[{uptime}] ata{small}.00: failed command: READ FPDMA QUEUED",
        "[{uptime}] eth{small}: DHCPv4 address {ip4}/24, gateway {ip4} acquired from {ip4}",
        "[{uptime}] br0: port {small}({iface}) entered forwarding state",
        "[{uptime}] neighbour: arp_cache: neighbor table overflow!",
        "[{uptime}] wlan0: associated with {mac} (capab=0x{small} status=0 aid={small})",
    ),
)
SYSTEMD = Family(
    "systemd",
    (
        "{unit}: Main process exited, code=exited, status={small}/FAILURE",
        "{unit}: Failed with result 'exit-code'.",
        "{unit}: Scheduled restart job, restart counter is at {int}.",
        "New session {int} of user {user}.",
        "Removed session {int}.",
        "Reloading {unit}...",
        "{unit}: Consumed {float}s CPU time.",
        "{unit}: Deactivated successfully.",
        "Journal stopped",
        "Time has been changed",
        "System clock wrong by {float} seconds",
        "Received SIGTERM from PID {pid} ({proc}).",
        "Unit {unit} entered failed state.",
        "Failed to start {unit}: {errtext}",
        "{unit}: Watchdog timeout (limit {int}s)!",
        "Reached target Multi-User System.",
        "Finished Cleanup of Temporary Directories.",
        "Starting Daily apt upgrade and clean activities...",
        "Reached target Shutdown.",
        "Listening on {unit} socket.",
        "Startup finished in {float}s (kernel) + {float}s (userspace) = {float}s.",
        "dhclient[{pid}]: DHCPACK of {ip4} from {ip4} (xid={hex})",
        "chronyd[{pid}]: Selected source {ip4} ({host})",
        "ntpd[{pid}]: Listen normally on {small} {iface} {ip6}:123",
        "dnsmasq[{pid}]: query[A] {host} from {ip4}",
        "named[{pid}]: client @{hex} {ip4}#{port} ({host}): query failed (SERVFAIL) for "
        "{host}/IN/A at query.c:{int}",
        "{proc}[{pid}]: Got notification message from PID {pid}, but reception only permitted "
        "for main PID {pid}",
    ),
)
MISC = Family(
    "platform",
    (
        "Shutting down",
        "Graceful shutdown complete",
        "Flushing metrics before exit",
        "Cache warmed up",
        "Leader lease renewed",
        "Reconnected to message broker",
        "Heartbeat sent",
        "No new messages in the last poll",
        "Queue is empty, sleeping",
        "Configuration reloaded",
        "Connection pool exhausted",
        "Listening on {ip4port}",
        "Listening on [{ip6}]:{port} with backlog {int}",
        "Peer {mac} joined the mesh via {iface}",
        "Registered device {mac} for tenant {uuid}",
        "Request {reqid} from {ip4} took {dur}",
        "Received {size} from {ip6port} in {dur}",
        "Uploaded {size} to s3://{table}-bucket/{path} in {dur}",
        "Token for {userid} expires at {iso}",
        "Session {hexid} for {userid} refreshed",
        "Rate limit exceeded for {userid}: {int} requests in {dur}",
        "[instance: {uuid}] Terminating instance",
        "[instance: {uuid}] Instance spawned successfully.",
        "[instance: {uuid}] Took {float} seconds to build instance.",
        '[req-{uuid} {hexid} {hexid} - default default] {ip4} "GET /v2/{hexid}/servers/detail '
        'HTTP/1.1" status: {status} len: {int} time: {float}',
        "Sync of tenant {uuid} finished: {int} added, {int} updated, {int} removed",
        "Memory usage {pct} of {size} on {host}",
        "CPU usage {pct} over the last {dur} on {host}",
        "Disk {dev} on {host} is {pct} full",
        "Certificate for {host} expires on {date}",
        "Commit {sha} deployed to {ns} by {user}",
        "Build #{int} of {cname} finished in {dur}",
        "Consumer group {cname} lag on {topic}: {int} messages",
        "Partition {topic}-{small} leader moved from broker {small} to broker {small}",
        "Queue {queue} depth {int} above {int}",
        "Worker {thread} picked job {uuid} from {queue}",
        "Replayed {int} WAL records in {dur}",
        "Unhandled exception in worker {thread}: {errtext}",
        "Search for {search} returned {int} results in {dur}",
        "Shard {small} of index {table}-{date} relocated to {host}",
        "[{iso}] zk: connection to {ip4port} established, session {hex}, timeout {int}ms",
        "Elected leader {host} for term {int} with {small} votes",
        "mDNS: advertised {host}.local on {ip6} via {iface}",
    ),
)

SYSTEMS = (HDFS, SSHD, HTTP, JVM, K8S, DATABASE, SPARK, KERNEL, SYSTEMD, MISC)
