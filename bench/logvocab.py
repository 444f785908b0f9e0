"""Word lists for the labelled-log generator (bench/loggen.py), written for it.

Two kinds of lists: VALUE pools, drawn every time a line is written (the untyped variables:
user names, hosts, tables, ...), and BUILD words, drawn once when a template is made and then
constant in it (the component that logs, the verb, the noun, the error it reports). Nothing
here is taken from a public log corpus.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _items(text: str) -> tuple[str, ...]:
    """Comma-separated entries, some of several words."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.strip().splitlines() if line.strip())


# --- value pools (untyped variables) ---
USERS = _words(
    """alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy
    rupert sybil trent victor walter admin root oracle test guest postgres ubuntu git deploy
    jenkins ansible backup nagios zabbix www-data nobody operator support ftpuser webmaster
    mysql hadoop spark kafka elastic tomcat nginx user1 dev qa staging svc-ci svc-etl
    svc-billing svc-search jdoe asmith mjones kwilliams lbrown pgarcia rmiller tdavis
    hwilson cmartinez jlee nthomas ktaylor emoore jackson.white sofia.harris liam.clark
    mia.lewis noah.walker ava.hall lucas.allen zoe.young ethan.king chloe.wright mason.scott
    lily.green aiden.baker ella.adams yusuf ananya hiroshi mei olga pierre ingrid tomasz"""
)
HOST_ROLES = _words(
    """web api db cache worker queue search auth gateway ingest batch etl kafka zk es redis
    mongo pg mq lb edge cron mail vault build"""
)
HOST_ENVS = _words("prod staging dev eu1 us2 ap1 canary")
DOMAINS = _words("example.net corp.internal svc.cluster.local ec2.internal lan")
PATH_ROOTS = _words("/var/log /var/lib /srv/data /opt/app /home /tmp /data /mnt/volume1 /etc")
PATH_PARTS = _words(
    """current archive spool cache uploads reports exports tmp shards blocks wal segments
    indices snapshots staging incoming outgoing releases config conf.d certs keys"""
)
FILE_STEMS = _words(
    """app server access error audit gc events part manifest index checkpoint metadata
    journal dump report invoice thumbnail backup output input schema"""
)
FILE_EXTS = _words(".log .json .gz .parquet .csv .dat .tmp .lock .bin .yaml .txt .pem")
TABLES = _words(
    """orders users sessions payments invoices shipments carts cart_items products skus
    prices coupons refunds subscriptions webhooks reports audit_log events accounts tenants
    projects tickets comments reviews addresses customers vendors ledger transfers
    notifications credentials api_keys devices inventory warehouses jobs schema_migrations
    feature_flags rate_limits"""
)
TOPICS = _words(
    """orders.created orders.updated payments.captured payments.failed cart.events
    user.signups email.outbox sms.outbox audit.trail inventory.changes price.updates
    search.reindex clickstream metrics.raw logs.ingest traces.spans fraud.scores
    shipping.labels refunds.requested webhooks.deliveries"""
)
QUEUES = _words(
    """default critical low mailers webhooks exports imports thumbnails billing reports
    reindex notifications cleanup retries dead-letter scheduled"""
)
NAMESPACES = _words(
    """default kube-system monitoring logging ingress-nginx cert-manager prod staging
    payments checkout search data-platform ml-serving observability argocd"""
)
CONTAINERS = _words(
    """checkout payments cart auth search inventory shipping email frontend api worker
    scheduler nginx envoy istio-proxy redis postgres kafka zookeeper prometheus grafana
    fluent-bit otel-collector coredns kube-proxy metrics-server node-exporter"""
)
DEVICES = _words("sda sdb sdc nvme0n1 nvme1n1 vda vdb xvdf dm-0 dm-1 md0 loop3")
INTERFACES = _words("eth0 eth1 ens3 ens5 enp0s3 enp3s0 bond0 docker0 cni0 wlan0 veth3a1f br0")
UNITS = _words(
    """nginx.service sshd.service docker.service kubelet.service containerd.service
    postgresql.service redis.service cron.service rsyslog.service chronyd.service
    systemd-resolved.service node-exporter.service fluent-bit.service logrotate.service
    apt-daily.service certbot.service haproxy.service elasticsearch.service kafka.service
    zookeeper.service"""
)
PROCESSES = _words(
    """java python3 node postgres nginx mysqld redis-server chrome ruby php-fpm dotnet
    envoy containerd dockerd kubelet etcd prometheus beam.smp"""
)
DATABASES = _words("shop analytics auth billing inventory search reporting warehouse crm")
METHODS = _words("GET GET GET POST POST PUT DELETE PATCH HEAD")
STATUS = (200, 200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 409, 429, 500, 503)
AGENTS = _words(
    """curl/8.4.0 Go-http-client/1.1 Go-http-client/2.0 kube-probe/1.28 python-requests/2.31.0
    okhttp/4.12.0 Prometheus/2.48.0 ELB-HealthChecker/2.0 Apache-HttpClient/4.5.14 axios/1.6.2
    Wget/1.21.3 k6/0.48.0"""
)
RESOURCES = _words(
    """orders users carts payments invoices products search sessions reviews shipments
    coupons accounts reports webhooks tenants"""
)
MONTHS = _words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec")
SERVICES = _words(
    """checkout payments cart auth search inventory shipping email gateway scheduler
    billing reporting catalog notifications"""
)

# --- build words (constant in a template) ---
COMPONENTS = _words(
    """OrderService PaymentProcessor InventorySync CartController SessionManager
    TokenValidator ShipmentTracker InvoiceRenderer PricingEngine CatalogIndexer
    NotificationDispatcher AuditWriter RateLimiter FeatureFlagClient SearchIndexer
    ReportScheduler UserDirectory AccountLinker FraudScorer LedgerPoster RefundWorker
    WebhookRelay EmailSender SmsGateway ImageResizer ThumbnailCache MetricsFlusher
    ConfigWatcher SecretRotator BackupAgent SnapshotManager ReplicaMonitor LeaseKeeper
    QuotaEnforcer BillingExporter TaxCalculator CouponRedeemer LoyaltyLedger ReviewModerator
    ChatRouter PresenceTracker GeoResolver AddressValidator ExportWorker ImportWorker
    SchemaMigrator PartitionBalancer CompactionTask RetentionSweeper HealthReporter"""
)
# base, past, -ing: one verb is drawn per template and used in any form it asks for
VERBS = tuple(
    tuple(line.split())
    for line in _lines(
        """create created creating
        update updated updating
        delete deleted deleting
        fetch fetched fetching
        validate validated validating
        sync synced syncing
        publish published publishing
        consume consumed consuming
        refresh refreshed refreshing
        archive archived archiving
        restore restored restoring
        reserve reserved reserving
        release released releasing
        schedule scheduled scheduling
        cancel cancelled cancelling
        approve approved approving
        encrypt encrypted encrypting
        decrypt decrypted decrypting
        index indexed indexing
        render rendered rendering
        upload uploaded uploading
        download downloaded downloading
        resolve resolved resolving
        merge merged merging
        split split splitting
        reconcile reconciled reconciling
        flush flushed flushing
        compact compacted compacting
        replicate replicated replicating
        migrate migrated migrating
        verify verified verifying
        register registered registering
        evict evicted evicting
        rebuild rebuilt rebuilding
        import imported importing
        export exported exporting
        notify notified notifying
        charge charged charging
        persist persisted persisting
        load loaded loading"""
    )
)
NOUNS = _items(
    """order, payment, invoice, shipment, cart, session, token, profile, account, coupon, refund,
    subscription, webhook, report, snapshot, backup, lease, quota, partition, segment,
    document, thumbnail, message, event, batch, manifest, certificate, secret, policy, rule,
    tenant, workspace, project, ticket, comment, review, address, customer, vendor, product,
    price list, tax rate, ledger entry, transfer, notification, credential, api key, device,
    catalog page, search result"""
)
REASONS = _lines(
    """connection refused
    connection reset by peer
    context deadline exceeded
    i/o timeout
    no route to host
    broken pipe
    permission denied
    quota exceeded
    too many open files
    resource temporarily unavailable
    unexpected EOF
    TLS handshake timeout
    certificate has expired
    invalid checksum
    record not found
    duplicate key value
    lock wait timeout exceeded
    service unavailable
    request entity too large
    stale read from replica
    schema version mismatch
    rate limit reached
    upstream closed the stream
    no space left on device
    authentication required"""
)
LEVELS = _words("debug info info info warn error")
JAVA_LEVELS = _words("DEBUG INFO INFO INFO WARN ERROR")
GO_FILES = _words(
    """server.go handler.go client.go reconciler.go watcher.go store.go raft.go compactor.go
    scheduler.go queue.go pool.go router.go cache.go retry.go dialer.go lease.go
    snapshot.go manager.go worker.go batcher.go"""
)
GO_COMPONENTS = _words(
    """ingester distributor querier compactor ruler store-gateway alertmanager scheduler
    reconciler syncer proxy dispatcher collector exporter"""
)
FIELD_KEYS = _words(
    """request_id trace_id job_id tenant_id order_id session_id batch_id lease_id
    shard_id object_id"""
)
K8S_KINDS = _words(
    """Pod Deployment ReplicaSet StatefulSet DaemonSet Job CronJob Service Endpoints
    ConfigMap Secret Ingress PersistentVolumeClaim Node Namespace HorizontalPodAutoscaler
    ServiceAccount Role Lease EndpointSlice"""
)
CONTROLLERS = _words(
    """deployment replicaset statefulset daemonset job cronjob endpoint endpointslice
    namespace garbagecollector horizontal-pod-autoscaler persistentvolume-binder
    node-lifecycle service-account"""
)
K8S_PHRASES = _lines(
    """Syncing object
    Finished syncing
    Observed a panic in reconciler
    Requeueing after error
    Updating status
    Adding finalizer
    Removing finalizer
    Waiting for caches to sync
    Deleting orphaned object
    Patching owner references"""
)
HADOOP_CLASSES = _words(
    """org.apache.hadoop.mapreduce.v2.app.MRAppMaster
    org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator
    org.apache.hadoop.mapreduce.v2.app.job.impl.JobImpl
    org.apache.hadoop.mapreduce.v2.app.job.impl.TaskImpl
    org.apache.hadoop.mapred.TaskAttemptListenerImpl
    org.apache.hadoop.yarn.server.resourcemanager.RMAppManager
    org.apache.hadoop.yarn.server.nodemanager.containermanager.ContainerManagerImpl
    org.apache.hadoop.hdfs.server.namenode.FSNamesystem
    org.apache.hadoop.hdfs.server.datanode.DataNode
    org.apache.hadoop.ipc.Client
    org.apache.spark.scheduler.TaskSetManager
    org.apache.spark.scheduler.DAGScheduler
    org.apache.spark.storage.BlockManagerInfo
    org.apache.spark.executor.Executor
    org.apache.spark.deploy.yarn.YarnAllocator"""
)
HADOOP_THREADS = _lines(
    """main
    AsyncDispatcher event handler
    RMCommunicator Allocator
    IPC Server handler on 8020
    ContainerLauncher
    dispatcher-event-loop
    task-result-getter
    Executor task launch worker"""
)
HADOOP_PHRASES = _lines(
    """Job transitioned to committing for
    Scheduling reduce tasks of
    Kill job received for
    Recovering task attempts of
    Commit pending for
    Output committer setup finished for
    Blacklisted node count rose for
    Speculative attempt launched for
    Shuffle phase finished for
    Ramping down all scheduled reduces of
    Localizing resources of
    History file written for"""
)
PG_ERRORS = _lines(
    """could not serialize access due to concurrent update
    canceling statement due to lock timeout
    null value in column violates not-null constraint
    value too long for type character varying
    insert or update violates foreign key constraint
    could not obtain lock on row
    permission denied for relation
    column does not exist
    invalid input syntax for type uuid
    division by zero"""
)
DB_OPERATIONS = _words("SELECT INSERT UPDATE DELETE UPSERT VACUUM ANALYZE REINDEX COPY")
PROXIES = _words("envoy haproxy nginx traefik linkerd-proxy istio-proxy")
UPSTREAM_EVENTS = _lines(
    """marked unhealthy
    ejected from pool
    timed out on connect
    returned a bad gateway
    reset the stream
    was restored to pool"""
)
DRIVERS = _words("e1000e ixgbe nvme mlx5_core ahci virtio_net xhci_hcd ext4 xfs btrfs")
KERNEL_PHRASES = _lines(
    """timeout waiting for completion at
    command aborted with status
    hardware queue stalled at
    reset adapter after watchdog at
    DMA mapping error at
    corrected memory error at"""
)
ALERTS = _words(
    """HighErrorRate HighLatency PodCrashLooping DiskAlmostFull MemoryPressure
    CertificateExpiring QueueBacklog ReplicationLag NodeNotReady TargetDown"""
)
ALERT_STATES = _words("firing resolved pending")
METRICS = _words(
    """error_ratio p99_latency_seconds restarts_total disk_used_ratio memory_working_set
    cert_days_left queue_depth replication_lag_seconds"""
)
TASKS = _words(
    """nightly-backup hourly-rollup invoice-run cache-warmup sitemap-build report-email
    token-cleanup search-reindex price-sync fx-rates-import"""
)
TASK_EVENTS = _lines(
    """finished successfully
    exceeded its deadline
    was skipped because the previous run is still going
    gave up after retries"""
)
AUDIT_ACTIONS = _words("viewed exported modified shared revoked impersonated approved")
# Optional endings of combination shapes (the empty one most often).
TAILS = (
    "",
    "",
    "",
    " for tenant {int}",
    " on {host}",
    " (attempt {small})",
    " after {dur}",
    " [{reqid}]",
    " via {ip4port}",
)
# Variables whose value spans several tokens: error texts, browser user agents, search text.
ERROR_TEXTS = (
    "EOF",
    "connection refused",
    "i/o timeout",
    "context deadline exceeded",
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    "dial tcp: lookup db.internal: no such host",
    "read: connection reset by peer",
    "x509: certificate signed by unknown authority",
    "the server is currently unable to handle the request",
    "unexpected end of JSON input",
    "permission denied",
    "too many open files",
    "record not found",
    "transaction aborted, retry the whole transaction",
)
BROWSER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "curl/8.4.0",
    "Go-http-client/1.1",
    "kube-probe/1.28",
)
SEARCH_WORDS = _words(
    """red running shoes wool coat kids desk lamp oak table usb charger garden hose blue
    linen shirt phone case"""
)
