#!/usr/bin/env python3
"""Writes InfraOps, a fourth labelled log kept OUT of the miner's development (issue 12,
fifth round): the servers that run a sync service in production, as their operators see
them in one aggregated log, 1,500 lines in the Loghub-2k layout:

- a JVM message broker in log4j style (Kafka-like: log segments, partitions and their
  ISR, the group coordinator and its rebalances, the controller's leader elections,
  replica fetchers, producers and consumers, each message ending with its class name),
- a reverse proxy and load balancer (nginx error-log lines, HAProxy health checks, and
  access-log lines in the combined format),
- a PostgreSQL server (checkpoints and restartpoints with their statistics, autovacuum,
  slow statements, connections, deadlocks, constraint errors, streaming replication),
- a container node agent and its runtime (kubelet structured lines, containerd, the
  kernel's OOM killer),
- cron, systemd timers, a database backup tool and certificate renewal.

    python3 bench/logs/extra/make_held_out_infra.py [OUT_DIR]

Made the way make_held_out_home.py made HomeApp (statements written after what such
software prints, each field drawn by a function, a `Fixed` phrase where a printed
reason or exception text is part of the template, as Loghub's labels keep it), for a
kind of log none of the other logs covers: system software rather than an app. Its
values carry what such logs carry: optional parts (`, referrer: "…"`, `SSL enabled
(…)`, a size with or without its unit in parentheses), host, service, topic, database
and user names without digits (some are ordinary words: `orders`, `audit`, `postgres`,
`data`), lists of any length (replica lists, partition lists, pods ranked for
eviction), statements that share a long prefix (`canceling statement due to …`,
`Eviction manager: …`, `PullImage …`), key=value fields, paths, durations and sizes
in several notations, IP addresses with ports, quoted SQL text, request lines and user
agents, Java exception class names and messages. Since issue 12's seventh round the
labels follow bench/logs/LABELLING.md: a word from a fixed set the program defines is
template text and an optional part makes a template of its own (`word`, `kept`,
`labelled` below wrap the drawn values; what is drawn is unchanged). It is never part of
`accord-bench ga`'s choice: it is scored only with bench/logs/held_out_ga.sh. Fixed
seed; the output is committed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import Fixed, Part, byte_count, fixed, hexid, ip, kept, labelled_by, pick, some, word, write  # noqa: E402
import make_extra  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


class Phrase(Fixed):
    """A printed phrase the label keeps, with its own template (the parts of it that
    vary, such as a member id inside a rebalance reason, written `<*>`)."""

    def template(self):
        return self._t


def phrase(text, tpl=None):
    p = Phrase(text)
    p._t = text if tpl is None else tpl
    return p


def const(xs):
    """Phrases the label keeps exactly as printed, digits and all (an errno and its text,
    an OpenSSL error string)."""
    return lambda r: phrase(pick(r, xs))


def phrases(options):
    """Options are (text-or-function, template); the function draws the varying parts."""
    def gen(r):
        text, tpl = pick(r, options)
        return phrase(text(r) if callable(text) else text, tpl)
    return gen




# ---- names and values ------------------------------------------------------------

TOPICS = ["orders", "sync-events", "device-state", "audit", "notifications", "changes",
          "dead-letters", "__consumer_offsets", "search-updates", "billing"]
LOGDIRS = ["/var/lib/kafka/data", "/data/kafka", "/mnt/kafka-logs"]
GROUPS = ["sync-workers", "audit-sink", "notifier", "search-indexer", "connect-cluster",
          "billing", "mailer"]
RACKS = ["null", "null", "eu-west-1a", "eu-west-1b", "eu-west-1c"]
BROKER_HOSTS = ["kafka-a.internal", "kafka-b.internal", "kafka-c.internal", "broker.prod",
                "kafka"]
SERVER_NAMES = ["api.example.com", "sync.example.com", "admin.example.com", "example.com", "_"]
UPSTREAM_HOSTS = ["sync-api", "auth", "admin-ui", "localhost"]
PATHS = ["/v1/sync/changes", "/v1/sync/push", "/v1/devices", "/v1/auth/token", "/ws",
         "/healthz", "/", "/static/js/app.js", "/favicon.ico", "/v1/files/upload",
         "/admin/login", "/.env", "/wp-login.php", "/v1/users/me"]
AGENTS = ["okhttp/4.12.0", "Accord/2.14.3 (Android 14; Pixel 8)", "Accord/2.13.0 (iOS 17.4)",
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
          "curl/8.5.0", "kube-probe/1.29", "Prometheus/2.51.0", "python-requests/2.31.0", "-",
          "Go-http-client/1.1", "Blackbox Exporter"]
BACKENDS = [("sync_api", ["sync-blue", "sync-green", "sync-canary"]),
            ("auth_backend", ["auth-east", "auth-west"]),
            ("websocket", ["ws-east", "ws-west", "ws-spare"])]
PG_USERS = ["sync_api", "replicator", "postgres", "grafana", "backup", "migrator", "accord"]
PG_DBS = ["accord", "postgres", "metrics", "keycloak", "audit"]
TABLES = ["public.changes", "public.devices", "public.sessions", "public.users",
          "public.change_log", "audit.events", "public.blobs", "pg_catalog.pg_statistic"]
CONSTRAINTS = ["changes_pkey", "devices_user_id_name_key", "sessions_token_key", "users_email_key"]
APPS = ["psql", "sync-api", "pgbackrest", "Grafana", "PostgreSQL JDBC Driver", "walreceiver",
        "pg_dump"]
NAMESPACES = ["sync", "monitoring", "ingress", "kube-system", "payments"]
APPS_K8S = [("sync", "sync-api", ["api", "envoy"]), ("sync", "sync-worker", ["worker"]),
            ("monitoring", "prometheus", ["prometheus", "config-reloader"]),
            ("monitoring", "grafana", ["grafana"]), ("ingress", "ingress-nginx-controller", ["controller"]),
            ("kube-system", "coredns", ["coredns"]), ("payments", "ledger", ["ledger", "fluent-bit"])]
IMAGES = ["registry.example.com/sync/api:v2.14.3", "registry.example.com/sync/worker:v2.14.3",
          "docker.io/library/nginx:1.25.4", "quay.io/prometheus/prometheus:v2.51.0",
          "docker.io/grafana/grafana:10.4.1", "registry.k8s.io/coredns/coredns:v1.11.1",
          "registry.example.com/payments/ledger:latest", "docker.io/envoyproxy/envoy:v1.29.2",
          "cr.fluentbit.io/fluent/fluent-bit:2.2"]
VOLUMES = ["config", "data", "tls-certs", "tmp", "secrets", "kube-api-access"]
DOMAINS = ["example.com", "api.example.com", "sync.example.com", "admin.example.com",
           "status.example.com", "www.example.com"]
CRON_JOBS = [("root", "/usr/local/bin/pg-backup.sh >/dev/null 2>&1"),
             ("root", "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )"),
             ("postgres", "/usr/bin/pgbackrest --stanza=main --type=incr backup"),
             ("root", "[ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean"),
             ("deploy", "cd /srv/sync && ./bin/rotate-keys"),
             ("root", "/usr/bin/certbot -q renew"),
             ("www-data", "php /var/www/status/cron.php")]
UNITS = [("certbot.service", "Certbot"), ("logrotate.service", "Rotate log files"),
         ("pgbackrest-incr.service", "Incremental backup of the main database"),
         ("apt-daily.service", "Daily apt download activities"),
         ("systemd-tmpfiles-clean.service", "Cleanup of Temporary Directories"),
         ("fstrim.service", "Discard unused blocks on filesystems from /etc/fstab"),
         ("man-db.service", "Daily man-db regeneration")]


def broker(r):
    return r.randrange(1, 6)


def partition(r):
    return f"{pick(r, TOPICS)}-{r.randrange(0, 24)}"


def partitions(r, lo=1, hi=6):
    return [partition(r) for _ in range(r.randrange(lo, hi + 1))]


def replicas(r, lo=1, hi=3):
    return sorted(r.sample(range(1, 6), r.randrange(lo, hi + 1)))


def offset(r):
    return pick(r, [r.randrange(0, 1000), r.randrange(1000, 10**6), r.randrange(10**6, 10**9)])


def port(r):
    return r.randrange(32768, 61000)


def hostport(r, p=None):
    return f"{ip(r)}:{p or pick(r, [8080, 8080, 9000, 3000, 443])}"


def member(r):
    return f"consumer-{pick(r, GROUPS)}-{r.randrange(1, 9)}-{hexid(r, 8)}-{hexid(r, 4)}-{hexid(r, 4)}-{hexid(r, 4)}-{hexid(r, 12)}"


def pod(r):
    ns, app, _ = pick(r, APPS_K8S)
    return f"{ns}/{app}-{hexid(r, 9)}-{''.join(r.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}"


def uid(r):
    return f"{hexid(r, 8)}-{hexid(r, 4)}-{hexid(r, 4)}-{hexid(r, 4)}-{hexid(r, 12)}"


def kb(r):
    return pick(r, [r.randrange(0, 1000), r.randrange(1000, 10**6)])


def secs(r):
    return f"{r.randrange(0, 30)}.{r.randrange(0, 1000):03d}"


def human_size(r):
    """pgBackRest's sizes: `0B`, `812KB`, `14.3MB`, `1.2GB`."""
    return pick(r, ["0B", f"{r.randrange(1, 1000)}KB", f"{r.randrange(1, 999)}.{r.randrange(10)}MB",
                    f"{r.randrange(1, 40)}.{r.randrange(10)}GB"])


def bytes_maybe_unit(r):
    """A byte count, with a readable size in parentheses only when it is not small."""
    n = byte_count(r)
    # The readable size in parentheses is an optional part, its unit chosen by the
    # magnitude (bench/logs/LABELLING.md, rules 2 and 4).
    if n < 1024:
        return Part(f"{n} bytes", "<*> bytes")
    if n < 1024 * 1024:
        return Part(f"{n} bytes ({n / 1024:.2f} KB)", "<*> bytes (<*>)")
    return Part(f"{n} bytes ({n / 1024 / 1024:.2f} MB)", "<*> bytes (<*>)")


def nginx_stamp(r):
    return f"{r.randrange(1, 29):02d}/Mar/2025:{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d} +0000"


def method_path(r):
    m = pick(r, ["GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD"])
    p = pick(r, PATHS)
    if p == "/v1/sync/changes":
        p += f"?since={r.randrange(10**6, 10**7)}&limit={pick(r, [100, 500])}"
    elif p == "/v1/devices" and r.random() < 0.5:
        p += f"/{hexid(r, 12)}"
    return f"{m} {p} {pick(r, ['HTTP/1.1', 'HTTP/1.1', 'HTTP/2.0'])}"


def upstream_url(r, request):
    return f"http://{hostport(r)}{request.split(' ')[1]}"


SQL = [
    lambda r: f"SELECT * FROM changes WHERE device_id = '{hexid(r, 12)}' AND seq > {r.randrange(10**5, 10**7)} ORDER BY seq LIMIT 500",
    lambda r: "SELECT count(*) FROM sessions WHERE expires_at < now()",
    lambda r: f"UPDATE devices SET last_seen = now(), cursor = {r.randrange(10**5, 10**7)} WHERE id = '{hexid(r, 12)}'",
    lambda r: f"DELETE FROM change_log WHERE created_at < now() - interval '{pick(r, [7, 30, 90])} days'",
    lambda r: "VACUUM (VERBOSE, ANALYZE) public.changes",
    lambda r: f"INSERT INTO changes (device_id, seq, payload) VALUES ($1, $2, $3) ON CONFLICT (device_id, seq) DO NOTHING",
    lambda r: "COMMIT",
    lambda r: f"SELECT u.id, u.email, d.name FROM users u JOIN devices d ON d.user_id = u.id WHERE u.email = '{pick(r, ['ana@example.org', 'ops@example.com', 'tom.becker@example.net'])}'",
    lambda r: "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_usage",
]


def sql(r):
    return pick(r, SQL)(r)


SESSION = [("postgres", "postgres")]  # the user and database of the last session prefix drawn


def pg_prefix(r):
    """`[pid] user@db`, as log_line_prefix = '%m [%p] %q%u@%d ' prints it for a session."""
    SESSION[0] = (pick(r, PG_USERS), pick(r, PG_DBS))
    return f"[{r.randrange(1000, 99999)}] {SESSION[0][0]}@{SESSION[0][1]}"


def pid(r):
    return r.randrange(1000, 99999)


def lsn(r):
    return f"{r.randrange(0, 16):X}/{hexid(r, 8).upper()}"


def container_id(r):
    return hexid(r, 64)


def nginx_head(r):
    """`1234#1234: *56789`: the worker's pid, its thread and the connection number."""
    p = r.randrange(100, 40000)
    return f"{p}#{p}: *{r.randrange(1, 10**7)}"


def infra_ops():
    S = []
    last = [None]

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # ---- the message broker (log4j: `[Context] message (class)`) -------------------
    st(45, "INFO", "kafka", "[ProducerStateManager partition={}] Wrote producer snapshot at offset {} with {} producer ids in {} ms. (kafka.log.ProducerStateManager)",
       partition, offset, lambda r: r.randrange(0, 40), lambda r: r.randrange(0, 30))
    st(40, "INFO", "kafka", "[LocalLog partition={}, dir={}] Rolled new log segment at offset {} in {} ms. (kafka.log.LocalLog)",
       partition, lambda r: pick(r, LOGDIRS), offset, lambda r: r.randrange(0, 60))
    st(12, "INFO", "kafka", "[UnifiedLog partition={}, dir={}] Deleting segments due to {}: {} (kafka.log.UnifiedLog)",
       partition, lambda r: pick(r, LOGDIRS),
       phrases([(lambda r: f"log retention time {pick(r, [604800000, 86400000])}ms breach", "log retention time <*>ms breach"),
                 (lambda r: f"log start offset {offset(r)} breach", "log start offset <*> breach"),
                 (lambda r: f"retention size in bytes {pick(r, [1073741824, 10737418240])} breach", "retention size in bytes <*> breach")]),
       lambda r: ",".join(f"LogSegment(baseOffset={offset(r)}, size={r.randrange(0, 1073741824)}, lastModifiedTime={r.randrange(1740787200000, 1743465600000)}, largestRecordTimestamp=Some({r.randrange(1740787200000, 1743465600000)}))"
                          for _ in range(r.randrange(1, 4))))
    st(10, "INFO", "kafka", "[Partition {} broker={}] Shrinking ISR from {} to {}. Leader: (highWatermark: {}, endOffset: {}). Out of sync replicas: {}. (kafka.cluster.Partition)",
       partition, broker,
       lambda r: last.__setitem__(0, replicas(r, 2, 3)) or ",".join(map(str, last[0])),
       lambda r: last.__setitem__(0, (last[0], r.randrange(1, len(last[0])))) or ",".join(map(str, last[0][0][:last[0][1]])),
       offset, offset,
       lambda r: " ".join(f"(brokerId: {b}, endOffset: {offset(r)})" for b in last[0][0][last[0][1]:]))
    st(9, "INFO", "kafka", "[Partition {} broker={}] Expanding ISR from {} to {} (kafka.cluster.Partition)",
       partition, broker,
       lambda r: last.__setitem__(0, replicas(r, 1, 3)) or ",".join(map(str, last[0])),
       lambda r: ",".join(map(str, sorted(last[0] + [pick(r, [b for b in range(1, 6) if b not in last[0]])]))))
    st(16, "INFO", "kafka", "[Partition {} broker={}] ISR updated to {} and version updated to {} (kafka.cluster.Partition)",
       partition, broker, lambda r: ",".join(map(str, replicas(r))), lambda r: r.randrange(0, 300))
    st(9, "INFO", "kafka", "[GroupCoordinator {}]: Preparing to rebalance group {} in state PreparingRebalance with old generation {} (__consumer_offsets-{}) (reason: {}) (kafka.coordinator.group.GroupCoordinator)",
       broker, lambda r: pick(r, GROUPS), lambda r: r.randrange(0, 400), lambda r: r.randrange(0, 50),
       phrases([(lambda r: f"Adding new member {member(r)} with group instance id None", "Adding new member <*> with group instance id None"),
                (lambda r: f"removing member {member(r)} on heartbeat expiration", "removing member <*> on heartbeat expiration"),
                (lambda r: f"Leader {member(r)} re-joining group during Stable", "Leader <*> re-joining group during Stable")]))
    st(9, "INFO", "kafka", "[GroupCoordinator {}]: Stabilized group {} generation {} (__consumer_offsets-{}) with {} members (kafka.coordinator.group.GroupCoordinator)",
       broker, lambda r: pick(r, GROUPS), lambda r: r.randrange(0, 400), lambda r: r.randrange(0, 50),
       lambda r: r.randrange(1, 13))
    st(4, "INFO", "kafka", "[Controller id={}] Starting replica leader election ({}) for partitions {} triggered by {} (kafka.controller.KafkaController)",
       broker, kept(lambda r: pick(r, ["PREFERRED", "PREFERRED", "UNCLEAN"])),
       lambda r: ",".join(partitions(r, 1, 7)),
       kept(lambda r: pick(r, ["AutoTriggered", "ZkTriggered", "AdminClientTriggered"])))
    st(6, "INFO", "kafka", "[ReplicaFetcherManager on broker {}] Removed fetcher for partitions Set({}) (kafka.server.ReplicaFetcherManager)",
       broker, lambda r: ", ".join(partitions(r, 1, 5)))
    st(5, "WARN", "kafka", "[ReplicaFetcher replicaId={}, leaderId={}, fetcherId={}] Error sending fetch request (sessionId={}, epoch={}) to node {}: {} (kafka.server.ReplicaFetcherThread)",
       broker, lambda r: last.__setitem__(0, broker(r)) or last[0], lambda r: r.randrange(0, 4),
       lambda r: r.randrange(10**8, 2 * 10**9), lambda r: pick(r, ["INITIAL", r.randrange(1, 5000)]), lambda r: last[0],
       phrases([(lambda r: f"java.io.IOException: Connection to {last[0]} was disconnected before the response was read",
                 "java.io.IOException: Connection to <*> was disconnected before the response was read"),
                (lambda r: f"java.net.SocketTimeoutException: Failed to connect within 30000 ms",
                 "java.net.SocketTimeoutException: Failed to connect within <*> ms")]))
    st(6, "WARN", "kafka", "[Producer clientId={}] Got error produce response with correlation id {} on topic-partition {}, retrying ({} attempts left). Error: {} (org.apache.kafka.clients.producer.internals.Sender)",
       lambda r: pick(r, ["sync-api", "audit-forwarder", "connect-cluster-offsets", "notifier"]),
       lambda r: r.randrange(1, 10**6), partition,
       lambda r: pick(r, [2147483647 - r.randrange(1, 5), r.randrange(0, 5)]),
       fixed(["NOT_LEADER_OR_FOLLOWER", "NETWORK_EXCEPTION"]))
    st(7, "INFO", "kafka", "[Consumer clientId={}, groupId={}] Resetting offset for partition {} to position FetchPosition{{offset={}, offsetEpoch=Optional.empty, currentLeader=LeaderAndEpoch{{leader=Optional[{}:{} (id: {} rack: {})], epoch={}}}}}. (org.apache.kafka.clients.consumer.internals.SubscriptionState)",
       lambda r: last.__setitem__(0, pick(r, GROUPS)) or f"consumer-{last[0]}-{r.randrange(1, 9)}", lambda r: last[0],
       partition, offset,
       lambda r: pick(r, BROKER_HOSTS), lambda r: pick(r, [9092, 9093]), broker, lambda r: pick(r, RACKS),
       lambda r: pick(r, [r.randrange(0, 50), "absent"]))

    # ---- the reverse proxy: nginx error log, HAProxy health checks, access log -----
    def request(r):
        last[0] = method_path(r)
        return last[0]

    def host_of(r):
        return pick(r, SERVER_NAMES[:4])

    def referrer(r):
        # an optional part (bench/logs/LABELLING.md, rule 4)
        text = pick(r, ["", "", "", f", referrer: \"https://{host_of(r)}/\""])
        return Part(text, ", referrer: \"<*>\"" if text else "")

    st(240, "INFO", "nginx.access", "{} - {} [{}] \"{}\" {} {} \"{}\" \"{}\" {}",
       ip, lambda r: pick(r, ["-"] * 8 + ["admin", "ops", "prometheus"]), nginx_stamp, request,
       lambda r: pick(r, [200] * 12 + [204, 301, 304, 400, 401, 403, 404, 404, 499, 502, 504]),
       lambda r: pick(r, [0, r.randrange(1, 600), r.randrange(600, 200000)]),
       lambda r: pick(r, ["-", "-", "-", f"https://{host_of(r)}/", "https://www.google.com/"]),
       lambda r: pick(r, AGENTS), lambda r: f"{r.randrange(0, 3)}.{r.randrange(0, 1000):03d}")
    st(30, "ERROR", "nginx", "{} upstream timed out (110: Connection timed out) while {}, client: {}, server: {}, request: \"{}\", upstream: \"{}\", host: \"{}\"{}",
       nginx_head, fixed(["reading response header from upstream", "connecting to upstream", "reading upstream"]),
       ip, lambda r: pick(r, SERVER_NAMES), request, lambda r: upstream_url(r, last[0]), host_of, referrer)
    st(18, "ERROR", "nginx", "{} connect() failed ({}) while connecting to upstream, client: {}, server: {}, request: \"{}\", upstream: \"{}\", host: \"{}\"{}",
       nginx_head, const(["111: Connection refused", "113: No route to host"]),
       ip, lambda r: pick(r, SERVER_NAMES), request, lambda r: upstream_url(r, last[0]), host_of, referrer)
    st(14, "INFO", "nginx", "{} client {} closed keepalive connection",
       nginx_head, ip)
    st(9, "INFO", "nginx", "{} client prematurely closed connection while reading upstream, client: {}, server: {}, request: \"{}\", upstream: \"{}\", host: \"{}\"",
       nginx_head, ip, lambda r: pick(r, SERVER_NAMES), request, lambda r: upstream_url(r, last[0]), host_of)
    st(8, "INFO", "nginx", "{} SSL_do_handshake() failed (SSL: {}) while SSL handshaking, client: {}, server: {}",
       nginx_head, const(["error:0A00006C:SSL routines::bad key share",
                          "error:0A000102:SSL routines::unsupported protocol",
                          "error:0A0000C1:SSL routines::no shared cipher"]),
       ip, lambda r: f"0.0.0.0:{pick(r, [443, 8443])}")
    st(6, "ERROR", "nginx", "{} open() \"{}\" failed (2: No such file or directory), client: {}, server: {}, request: \"{}\", host: \"{}\"{}",
       nginx_head, lambda r: f"/usr/share/nginx/html{pick(r, ['/favicon.ico', '/.env', '/wp-login.php', '/robots.txt', '/static/js/app.js.map', '/apple-touch-icon.png'])}",
       ip, lambda r: pick(r, SERVER_NAMES), request, host_of, referrer)

    def server(r):
        b, ss = pick(r, BACKENDS)
        return f"{b}/{pick(r, ss)}"

    st(7, "WARN", "haproxy", "Server {} is DOWN, reason: {}, check duration: {}ms. {} active and {} backup servers left. {} sessions active, {} requeued, {} remaining in queue.",
       server, phrases([(lambda r: "Layer4 timeout", None), (lambda r: "Layer4 connection problem, info: \"Connection refused\"", None),
                        (lambda r: f"Layer7 wrong status, code: {pick(r, [500, 502, 503])}, info: \"{pick(r, ['Service Unavailable', 'Internal Server Error', 'Bad Gateway'])}\"",
                         "Layer7 wrong status, code: <*>, info: <*>")]),
       lambda r: r.randrange(0, 2002), lambda r: r.randrange(0, 3), lambda r: 0, lambda r: r.randrange(0, 40),
       lambda r: r.randrange(0, 5), lambda r: 0)
    st(6, "NOTICE", "haproxy", "Server {} is UP, reason: Layer7 check passed, code: {}, check duration: {}ms. {} active and {} backup servers online. {} sessions requeued, {} total in queue.",
       server, lambda r: 200, lambda r: r.randrange(0, 40), lambda r: r.randrange(1, 4), lambda r: 0, lambda r: 0, lambda r: 0)

    # ---- the database server ----------------------------------------------------------
    def ckpt_flags(r):
        # the checkpoint's flags, words PostgreSQL defines (rule 3)
        return word(pick(r, ["time", "time", "time", "wal", "immediate force wait", "shutdown immediate", "force wait"]))

    st(10, "LOG", "postgres", "[{}] checkpoint starting: {}",
       pid, ckpt_flags)
    st(10, "LOG", "postgres", "[{}] checkpoint complete: wrote {} buffers ({}%); {} WAL file(s) added, {} removed, {} recycled; write={} s, sync={} s, total={} s; sync files={}, longest={} s, average={} s; distance={} kB, estimate={} kB{}",
       pid, lambda r: r.randrange(0, 40000), lambda r: f"{r.randrange(0, 40)}.{r.randrange(10)}",
       lambda r: r.randrange(0, 3), lambda r: r.randrange(0, 30), lambda r: r.randrange(0, 30),
       secs, secs, secs, lambda r: r.randrange(0, 200), secs, secs, kb, kb,
       labelled_by(lambda r: pick(r, ["", f"; lsn={lsn(r)}, redo lsn={lsn(r)}"]),
                [(r"", ""), (r"; lsn=.*", "; lsn=<*>, redo lsn=<*>")]))
    st(4, "LOG", "postgres", "[{}] restartpoint complete: wrote {} buffers ({}%); {} WAL file(s) added, {} removed, {} recycled; write={} s, sync={} s, total={} s; sync files={}, longest={} s, average={} s; distance={} kB, estimate={} kB{}",
       pid, lambda r: r.randrange(0, 40000), lambda r: f"{r.randrange(0, 40)}.{r.randrange(10)}",
       lambda r: r.randrange(0, 3), lambda r: r.randrange(0, 30), lambda r: r.randrange(0, 30),
       secs, secs, secs, lambda r: r.randrange(0, 200), secs, secs, kb, kb,
       labelled_by(lambda r: pick(r, ["", f"; lsn={lsn(r)}, redo lsn={lsn(r)}"]),
                [(r"", ""), (r"; lsn=.*", "; lsn=<*>, redo lsn=<*>")]))
    st(40, "LOG", "postgres", "{} duration: {} ms  statement: {}",
       pg_prefix, lambda r: f"{r.randrange(500, 60000)}.{r.randrange(0, 1000):03d}", sql)
    st(18, "LOG", "postgres", "{} duration: {} ms  execute {}: {}",
       pg_prefix, lambda r: f"{r.randrange(500, 60000)}.{r.randrange(0, 1000):03d}",
       lambda r: pick(r, ["<unnamed>", "<unnamed>", f"S_{r.randrange(1, 20)}"]), sql)
    st(22, "LOG", "postgres", "[{}] [unknown]@[unknown] connection received: host={} port={}",
       pid, lambda r: pick(r, [ip(r), ip(r), "[local]"]), port)
    st(20, "LOG", "postgres", "{} connection authorized: user={} database={}{}{}",
       pg_prefix, lambda r: SESSION[0][0], lambda r: SESSION[0][1],
       labelled_by(lambda r: pick(r, ["", f" application_name={pick(r, APPS)}"]),
                [(r"", ""), (r" application_name=.*", " application_name=<*>")]),
       labelled_by(lambda r: pick(r, ["", "", " SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
                                   " SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256)"]),
                [(r"", ""),
                 (r" SSL enabled \(protocol=(\S+), cipher=(\S+), bits=\d+\)",
                  lambda m: f" SSL enabled (protocol={m[1]}, cipher={m[2]}, bits=<*>)")]))
    st(16, "LOG", "postgres", "{} disconnection: session time: {} user={} database={} host={} port={}",
       pg_prefix, lambda r: f"{r.randrange(0, 30)}:{r.randrange(60):02d}:{r.randrange(60):02d}.{r.randrange(1000):03d}",
       lambda r: SESSION[0][0], lambda r: SESSION[0][1], lambda r: pick(r, [ip(r), ip(r), "[local]"]), port)
    st(12, "LOG", "postgres", "[{}] automatic vacuum of table \"{}.{}\": index scans: {} pages: {} removed, {} remain, {} scanned ({}% of total) tuples: {} removed, {} remain, {} are dead but not yet removable removable cutoff: {}, which was {} XIDs old when operation ended index scan {}: {} pages from table ({}% of total) had {} dead item identifiers removed avg read rate: {} MB/s, avg write rate: {} MB/s buffer usage: {} hits, {} misses, {} dirtied WAL usage: {} records, {} full page images, {} bytes system usage: CPU: user: {} s, system: {} s, elapsed: {} s",
       pid, lambda r: pick(r, PG_DBS), lambda r: pick(r, TABLES), lambda r: r.randrange(0, 2),
       lambda r: 0, lambda r: r.randrange(1, 10**6), lambda r: r.randrange(1, 10**5),
       lambda r: f"{r.randrange(0, 100)}.{r.randrange(100):02d}", lambda r: r.randrange(0, 10**5),
       lambda r: r.randrange(0, 10**7), lambda r: r.randrange(0, 500), lambda r: r.randrange(10**6, 10**8),
       lambda r: r.randrange(0, 5000), kept(lambda r: pick(r, ["needed", "needed", "not needed", "bypassed"])),
       lambda r: r.randrange(0, 10**5), lambda r: f"{r.randrange(0, 100)}.{r.randrange(100):02d}",
       lambda r: r.randrange(0, 10**5), lambda r: f"{r.randrange(0, 200)}.{r.randrange(1000):03d}",
       lambda r: f"{r.randrange(0, 50)}.{r.randrange(1000):03d}", lambda r: r.randrange(0, 10**6),
       lambda r: r.randrange(0, 10**5), lambda r: r.randrange(0, 10**5), lambda r: r.randrange(0, 10**5),
       lambda r: r.randrange(0, 10**4), lambda r: r.randrange(0, 10**8),
       lambda r: f"{r.randrange(0, 5)}.{r.randrange(100):02d}", lambda r: f"{r.randrange(0, 2)}.{r.randrange(100):02d}",
       lambda r: f"{r.randrange(0, 60)}.{r.randrange(100):02d}")
    st(10, "LOG", "postgres", "[{}] automatic analyze of table \"{}.{}\" avg read rate: {} MB/s, avg write rate: {} MB/s buffer usage: {} hits, {} misses, {} dirtied system usage: CPU: user: {} s, system: {} s, elapsed: {} s",
       pid, lambda r: pick(r, PG_DBS), lambda r: pick(r, TABLES),
       lambda r: f"{r.randrange(0, 200)}.{r.randrange(1000):03d}", lambda r: f"{r.randrange(0, 50)}.{r.randrange(1000):03d}",
       lambda r: r.randrange(0, 10**5), lambda r: r.randrange(0, 10**4), lambda r: r.randrange(0, 10**3),
       lambda r: f"{r.randrange(0, 5)}.{r.randrange(100):02d}", lambda r: f"{r.randrange(0, 2)}.{r.randrange(100):02d}",
       lambda r: f"{r.randrange(0, 60)}.{r.randrange(100):02d}")
    st(4, "DETAIL", "postgres", "{} Process {} waits for {} on transaction {}; blocked by process {}. Process {} waits for {} on transaction {}; blocked by process {}.",
       pg_prefix, pid, kept(lambda r: pick(r, ["ShareLock", "ShareLock", "ExclusiveLock", "RowExclusiveLock"])),
       lambda r: r.randrange(10**6, 10**8), pid, pid,
       kept(lambda r: pick(r, ["ShareLock", "ShareLock", "AccessExclusiveLock"])), lambda r: r.randrange(10**6, 10**8), pid)
    st(7, "ERROR", "postgres", "{} duplicate key value violates unique constraint \"{}\"",
       pg_prefix, lambda r: pick(r, CONSTRAINTS))
    st(6, "ERROR", "postgres", "{} canceling statement due to statement timeout",
       pg_prefix)
    st(3, "ERROR", "postgres", "{} canceling statement due to lock timeout",
       pg_prefix)
    st(5, "FATAL", "postgres", "{} no pg_hba.conf entry for host \"{}\", user \"{}\", database \"{}\", {}",
       pg_prefix, ip, lambda r: SESSION[0][0], lambda r: SESSION[0][1],
       kept(lambda r: pick(r, ["no encryption", "SSL encryption"])))
    st(3, "LOG", "postgres", "[{}] started streaming WAL from primary at {} on timeline {}",
       pid, lsn, lambda r: r.randrange(1, 6))

    # ---- the container node: kubelet, containerd, the kernel ---------------------------
    st(35, "INFO", "kubelet", "\"SyncLoop (PLEG): event for pod\" pod=\"{}\" event={}",
       pod, labelled_by(lambda r: f"&{{ID:{uid(r)} Type:{pick(r, ['ContainerStarted', 'ContainerStarted', 'ContainerDied'])} Data:{container_id(r)}}}",
                     [(r"&\{ID:\S+ Type:(\w+) Data:\w+\}", lambda m: f"&{{ID:<*> Type:{m[1]} Data:<*>}}")]))
    st(16, "INFO", "kubelet", "\"Probe failed\" probeType=\"{}\" pod=\"{}\" podUID=\"{}\" containerName=\"{}\" probeResult=\"failure\" output=\"{}\"",
       kept(lambda r: pick(r, ["Readiness", "Readiness", "Liveness", "Startup"])), pod, uid,
       lambda r: pick(r, ["api", "worker", "envoy", "controller", "grafana", "ledger"]),
       labelled_by(lambda r: pick(r, [(lambda a: f"Get \\\"http://{a}/healthz\\\": dial tcp {a}: connect: connection refused")(hostport(r)),
                                   f"HTTP probe failed with statuscode: {pick(r, [500, 503])}",
                                   f"Get \\\"http://{hostport(r)}/ready\\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"]),
                # the prober's own error texts, the URL, address and status in them values (rule 5)
                [(r'Get \\"\S+\\": dial tcp \S+: connect: connection refused',
                  'Get \\"<*>\\": dial tcp <*>: connect: connection refused'),
                 (r"HTTP probe failed with statuscode: \d+", "HTTP probe failed with statuscode: <*>"),
                 (r'Get \\"\S+\\": context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)',
                  'Get \\"<*>\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)')]))
    st(8, "INFO", "kubelet", "\"Killing container with a grace period\" pod=\"{}\" podUID=\"{}\" containerName=\"{}\" containerID=\"containerd://{}\" gracePeriod={}",
       pod, uid, lambda r: pick(r, ["api", "worker", "envoy", "controller", "prometheus"]), container_id,
       lambda r: pick(r, [30, 30, 60, 2, 600]))
    st(6, "ERROR", "kubelet", "\"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"{}\\\" with CrashLoopBackOff: \\\"back-off {} restarting failed container={} pod={}_{}({})\\\"\" pod=\"{}\" podUID=\"{}\"",
       lambda r: last.__setitem__(0, (pick(r, ["api", "worker", "ledger"]), pod(r), uid(r))) or last[0][0],
       lambda r: pick(r, ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s"]), lambda r: last[0][0],
       lambda r: last[0][1].split("/")[1], lambda r: last[0][1].split("/")[0], lambda r: last[0][2],
       lambda r: last[0][1], lambda r: last[0][2])
    st(9, "INFO", "kubelet", "\"operationExecutor.MountVolume started for volume \\\"{}\\\" (UniqueName: \\\"{}\\\") pod \\\"{}\\\" (UID: \\\"{}\\\") \" pod=\"{}\"",
       lambda r: last.__setitem__(0, (pick(r, VOLUMES), pod(r), uid(r))) or last[0][0],
       lambda r: f"kubernetes.io/{pick(r, ['configmap', 'secret', 'projected', 'empty-dir'])}/{last[0][2]}-{last[0][0]}",
       lambda r: last[0][1].split("/")[1], lambda r: last[0][2], lambda r: last[0][1])
    st(9, "INFO", "kubelet", "\"MountVolume.SetUp succeeded for volume \\\"{}\\\" (UniqueName: \\\"{}\\\") pod \\\"{}\\\" (UID: \\\"{}\\\") \" pod=\"{}\"",
       lambda r: last.__setitem__(0, (pick(r, VOLUMES), pod(r), uid(r))) or last[0][0],
       lambda r: f"kubernetes.io/{pick(r, ['configmap', 'secret', 'projected', 'empty-dir'])}/{last[0][2]}-{last[0][0]}",
       lambda r: last[0][1].split("/")[1], lambda r: last[0][2], lambda r: last[0][1])
    st(3, "INFO", "kubelet", "\"Eviction manager: attempting to reclaim\" resourceName=\"{}\"",
       kept(lambda r: pick(r, ["memory", "ephemeral-storage", "nodefs.inodesFree"])))
    st(3, "INFO", "kubelet", "\"Eviction manager: pods ranked for eviction\" pods=[{}]",
       lambda r: " ".join(pod(r) for _ in range(r.randrange(1, 6))))
    st(14, "INFO", "containerd", "level=info msg=\"PullImage \\\"{}\\\"\"",
       lambda r: pick(r, IMAGES))
    st(11, "INFO", "containerd", "level=info msg=\"PullImage \\\"{}\\\" returns image reference \\\"sha256:{}\\\"\"",
       lambda r: pick(r, IMAGES), lambda r: hexid(r, 64))
    st(8, "INFO", "containerd", "level=info msg=\"Pulled image \\\"{}\\\" with image id \\\"sha256:{}\\\", repo tag \\\"{}\\\", repo digest \\\"{}@sha256:{}\\\", size \\\"{}\\\" in {}\"",
       lambda r: last.__setitem__(0, pick(r, IMAGES)) or last[0], lambda r: hexid(r, 64), lambda r: last[0],
       lambda r: last[0].rsplit(":", 1)[0], lambda r: hexid(r, 64), lambda r: r.randrange(10**6, 6 * 10**8),
       lambda r: pick(r, [f"{r.randrange(1, 999)}.{r.randrange(10**6):06d}ms", f"{r.randrange(1, 59)}.{r.randrange(10**9):09d}s",
                          f"{r.randrange(1, 5)}m{r.randrange(0, 59)}.{r.randrange(10**9):09d}s"]))
    st(10, "INFO", "containerd", "level=info msg=\"StartContainer for \\\"{}\\\" returns successfully\"",
       container_id)
    st(3, "WARN", "kernel", "Memory cgroup out of memory: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:{}kB, UID:{} pgtables:{}kB oom_score_adj:{}",
       pid, lambda r: pick(r, ["java", "postgres", "envoy", "node", "prometheus", "python3"]),
       lambda r: r.randrange(10**5, 10**7), lambda r: r.randrange(10**4, 4 * 10**6), lambda r: r.randrange(0, 10**5),
       lambda r: r.randrange(0, 10**4), lambda r: pick(r, [0, 999, 1000, 65534]), lambda r: r.randrange(100, 20000),
       lambda r: pick(r, [-997, 999, 1000, r.randrange(2, 999)]))

    # ---- cron, timers, backups, certificates ------------------------------------------
    st(16, "INFO", "CRON", "({}) CMD ({})",
       lambda r: last.__setitem__(0, pick(r, CRON_JOBS)) or last[0][0], lambda r: word(last[0][1]))
    st(8, "INFO", "systemd", "Started {}.",
       lambda r: pick(r, UNITS)[1])
    st(6, "INFO", "systemd", "{}: Consumed {} CPU time.",
       lambda r: pick(r, UNITS)[0],
       lambda r: pick(r, [f"{r.randrange(0, 999)}ms", f"{r.randrange(1, 59)}.{r.randrange(1000):03d}s",
                          f"{r.randrange(1, 30)}min {r.randrange(0, 59)}.{r.randrange(1000):03d}s"]))
    st(6, "INFO", "pgbackrest", "{} command end: completed successfully ({}ms)",
       kept(lambda r: pick(r, ["archive-push", "archive-push", "archive-push", "backup", "expire", "archive-get"])),
       lambda r: r.randrange(3, 600000))
    st(3, "INFO", "pgbackrest", "{} backup size = {}, file total = {}",
       kept(lambda r: pick(r, ["full", "diff", "incr", "incr"])), human_size, lambda r: r.randrange(1, 3000))
    st(8, "INFO", "pgbackrest", "{}   INFO: backup file {} ({}, {}%){}",
       lambda r: f"P{r.randrange(1, 5):02d}",
       lambda r: f"/var/lib/postgresql/16/main/base/{r.randrange(10000, 99999)}/{r.randrange(10000, 99999)}{pick(r, ['', '', '_fsm', '_vm', '.1'])}",
       lambda r: last.__setitem__(0, human_size(r)) or last[0],
       lambda r: f"{r.randrange(0, 100)}.{r.randrange(100):02d}",
       lambda r: Part("", "") if last[0] == "0B" else Part(f" checksum {hexid(r, 40)}", " checksum <*>"))
    st(3, "INFO", "backup", "pg-backup: dump of database {} written to {}: {} in {}",
       lambda r: last.__setitem__(0, pick(r, PG_DBS)) or last[0],
       lambda r: f"/srv/backups/{pick(r, ['daily', 'weekly'])}/{last[0]}-2025-03-{r.randrange(1, 29):02d}.dump",
       bytes_maybe_unit,
       lambda r: pick(r, [f"{r.randrange(0, 59)}s", f"{r.randrange(1, 40)}m {r.randrange(0, 59)}s"]))
    st(3, "INFO", "certbot", "Renewing an existing certificate for {}",
       labelled_by(lambda r: (lambda d: d[0] if len(d) == 1 else (f"{d[0]} and {d[1]}" if len(d) == 2 else f"{d[0]} and {len(d) - 1} more domains"))(some(r, DOMAINS, 1, 5)),
                [(r"\S+ and \d+ more domains", "<*> and <*> more domains"), (r"\S+ and \S+", "<*> and <*>")]))
    st(1, "ERROR", "certbot", "Failed to renew certificate {} with error: {}",
       lambda r: pick(r, DOMAINS), fixed(["Some challenges have failed.", "urn:ietf:params:acme:error:rateLimited :: too many certificates already issued"]))
    return S


if __name__ == "__main__":
    make_extra.OUT = OUT
    make_extra.LINES = 1500
    write("InfraOps", infra_ops(), 30)
