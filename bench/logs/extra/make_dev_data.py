#!/usr/bin/env python3
"""Writes DataStack, a labelled DEVELOPMENT log (issue 12): the data tier and platform
of a production service as its operators see it in one aggregated log, 1,500 lines in
the Loghub-2k layout (`DataStack/DataStack_2k.log` and
`DataStack/DataStack_2k.log_structured_corrected.csv`).

    python3 bench/logs/extra/make_dev_data.py [OUT_DIR]

System software, with the wording such software prints: Redis (RDB and AOF saves,
replica sync with its master, clients, memory and fsync warnings, keyspace summaries),
Elasticsearch in log4j style (`[o.e.c.r.a.AllocationService] [node] ...`: index
creation and deletion, mappings, ILM steps, cluster health, nodes joining and leaving,
disk watermarks, GC overhead, search failures with Java exceptions), MySQL 8 (aborted
connections, access denied, InnoDB page cleaner, replica I/O thread, slow query log
headers), an Envoy proxy (cds/lds updates, membership updates, upstream resets, access
lines), etcd (raft elections and terms, slow requests and applies, compaction), the
Docker daemon and containerd (shims, events, health checks, pulls, port bindings) and
RabbitMQ (AMQP connections accepted, authenticated, closed and failing, mirrored
queues, memory alarms).

Made the way make_extra.py makes its logs (same helpers, `write`): each statement is a
format string with `{}` fields and a function per field; a line's label is its
statement with every field written `<*>`; a printed phrase that Loghub's corrected
labels keep (an error reason, an exception with its message) is drawn `Fixed`, so
each phrase is a template of its own with its numbers as `<*>`. Since issue 12's
seventh round the labels follow bench/logs/LABELLING.md: a word from a fixed set the
program defines is kept as template text and an optional part makes a template of its
own (`word`, `kept`, `labelled` below wrap the drawn values; what is drawn is
unchanged). Fixed seed; the output is deterministic and committed. Written without reading the miner and never run through it before commit.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import Fixed, hexid, ip, kept, labelled_by, pick, some, write  # noqa: E402
import make_extra  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


class Phrase(Fixed):
    """A kept phrase with names in it: the label keeps the phrase but writes the names
    (and numbers) as `<*>`; `tpl` is the phrase's own template."""

    def __new__(cls, text, tpl):
        s = super().__new__(cls, text)
        s.tpl = tpl
        return s

    def template(self):
        return re.sub(r"\d+", "<*>", self.tpl)


def phrase(*makers):
    """A field drawn as one of several phrases, each a function r -> Phrase/Fixed."""
    return lambda r: pick(r, makers)(r)


def const(text):
    return lambda r: Fixed(text)




# ---- names (no digits) --------------------------------------------------------------

ES_NODES = ["es-hot-amber", "es-hot-birch", "es-warm-cedar", "es-master-dune",
            "es-master-elm", "es-cold-fern"]
ES_ROLES = ["dimr", "dir", "m", "hs", "w", "cdfhilmrstw", "di"]
INDICES = ["orders", "products", "audit-log", "logs-nginx-access", "users", "search-catalog",
           "invoices", "events", "sessions", ".kibana_task_manager", ".security"]
DATED = ["logs-app", "logs-nginx-access", "metrics-system", "audit-log"]
ILM_POLICIES = ["logs-default", "hot-warm-delete", "audit-retention", "metrics"]
ILM_STEPS = [("hot", "rollover", "check-rollover-ready"), ("hot", "rollover", "attempt-rollover"),
             ("warm", "shrink", "shrink"), ("warm", "forcemerge", "segment-count"),
             ("delete", "delete", "delete"), ("hot", "complete", "complete"),
             ("warm", "allocate", "allocate"), ("new", "complete", "complete")]
DBS = ["shop", "billing", "accounts", "analytics", "sync", "unconnected", "inventory"]
DB_USERS = ["app", "reporting", "repl", "root", "metrics", "backup", "sync", "readonly"]
DB_HOSTS = ["db-primary", "db-replica", "localhost", "app-worker", "batch"]
CLUSTERS = ["backend", "auth_service", "search", "xds_cluster", "redis_cache", "payments",
            "media", "outbound_smtp"]
LISTENERS = ["ingress_http", "ingress_https", "egress_grpc", "admin", "internal_mesh"]
VHOSTS = ["/", "orders", "billing", "staging", "events"]
MQ_USERS = ["guest", "orders", "billing", "monitoring", "sync", "admin"]
MQ_NODES = ["rabbit@mq-alpha", "rabbit@mq-bravo", "rabbit@mq-charlie"]
QUEUES = ["orders.created", "email.outbound", "billing.invoices", "sync.events",
          "notifications", "dead-letter", "search.reindex", "audit"]
CONN_NAMES = ["orders-consumer", "billing worker", "celery", "sync-api", "shovel"]
CONTAINERS = ["web", "redis", "worker", "nginx", "search-proxy", "scheduler", "postgres",
              "grafana", "node-exporter"]
IMAGES = ["nginx:stable-alpine", "redis:7.2", "ghcr.io/example/api:latest",
          "docker.elastic.co/elasticsearch/elasticsearch:8.12.2", "rabbitmq:management",
          "registry.internal/sync/worker:main", "envoyproxy/envoy:v1.29-latest", "busybox"]
ETCD_IDS = ["8e9e05c52164694d", "91bc3c398fb3c146", "fd422379fda50e48"]
ETCD_KEYS = ["/registry/services/endpoints/default/kubernetes", "/registry/leases/kube-node-lease/",
             "/registry/pods/default/", "/registry/configmaps/kube-system/", "/registry/health",
             "/registry/events/monitoring/", "/registry/minions/"]
UAS = ["curl/8.5.0", "Go-http-client/1.1", "okhttp/4.12.0",
       "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
       "kube-probe/1.29", "Prometheus/2.50.1", "python-requests/2.31.0"]
PATHS = ["/api/v1/items", "/api/v1/sync", "/healthz", "/api/v1/users/me", "/metrics",
         "/api/v1/search", "/static/app.js", "/api/v1/orders", "/login"]


# ---- values -------------------------------------------------------------------------

def port(r):
    return r.randrange(32768, 61000)


def es_node(r):
    return pick(r, ES_NODES)


def index(r):
    if r.random() < 0.25:
        return f"{pick(r, DATED)}-2025.03.{r.randrange(1, 29):02d}"
    return pick(r, INDICES)


def es_uuid(r):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "".join(r.choice(alphabet) for _ in range(22))


def es_time(r):
    """Elasticsearch's TimeValue: `450ms`, `1.2s`, `3.4m`."""
    return pick(r, [f"{r.randrange(100, 999)}ms", f"{r.randrange(1, 9)}.{r.randrange(10)}s",
                    f"{r.randrange(1, 59)}s", f"{r.randrange(1, 9)}.{r.randrange(10)}m"])


def es_bytes(r):
    """Elasticsearch's ByteSizeValue: `812.3mb`, `5.1gb`, `8gb`."""
    return pick(r, [f"{r.randrange(100, 999)}.{r.randrange(10)}mb", f"{r.randrange(1, 31)}.{r.randrange(10)}gb",
                    f"{r.randrange(1, 32)}gb"])


def millis(r, lo=100, hi=2000):
    """etcd's Go durations: `104.68ms`, `1.204312s`, `987.2µs`."""
    return pick(r, [f"{r.randrange(lo, 999)}.{r.randrange(100):d}ms", f"{r.randrange(lo, 999)}.{r.randrange(1000, 99999)}ms",
                    f"{r.randrange(1, hi // 1000 + 2)}.{r.randrange(100000, 999999)}s"])


def amqp_pid(r):
    return f"<0.{r.randrange(300, 40000)}.0>"


def container_id(r):
    return hexid(r, 64)


def names(xs, lo=1, hi=4, sep=", "):
    return lambda r: sep.join(some(r, xs, lo, hi))


# ---- the statements -----------------------------------------------------------------

def data_stack():
    S = []
    last = {}

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    def pair(key, choices):
        """Two fields drawn together (a value and the one that goes with it)."""
        def first(r):
            last[key] = pick(r, choices)
            return last[key][0]
        return first, (lambda r: last[key][1])

    def remember(key, gen):
        def g(r):
            last[key] = gen(r)
            return last[key]
        return g

    def recall(key):
        return lambda r: last[key]

    # ---------------- Redis ----------------
    R = "redis"
    st(16, "notice", R, "{} changes in {} seconds. Saving...", lambda r: pick(r, [1, 10, 100, 10000, r.randrange(1, 20000)]),
       lambda r: pick(r, [60, 300, 900, 3600]))
    st(16, "notice", R, "Background saving started by pid {}", lambda r: r.randrange(20, 99999))
    st(15, "notice", R, "DB saved on disk")
    st(14, "notice", R, "Background saving terminated with success")
    st(5, "notice", R, "Connecting to MASTER {}:{}", lambda r: pick(r, ["cache-main", "10.4.0.12", "redis-master.data.svc"]),
       lambda r: 6379)
    st(4, "notice", R, "MASTER <-> REPLICA sync: receiving {} bytes from master to disk",
       lambda r: pick(r, [r.randrange(180, 5000), r.randrange(10**6, 9 * 10**8)]))
    st(3, "notice", R, "MASTER <-> REPLICA sync: Finished with success")
    st(18, "verbose", R, "DB {}: {} keys ({} volatile) in {} slots HT.", lambda r: pick(r, [0, 0, 0, 1, 2]),
       lambda r: r.randrange(0, 500000), lambda r: r.randrange(0, 5000), lambda r: pick(r, [4, 128, 2048, 65536, 524288]))
    st(20, "verbose", R, "Accepted {}:{}", lambda r: pick(r, [ip(r), ip(r), "127.0.0.1"]), port)
    st(14, "verbose", R, "{} clients connected ({} replicas), {} bytes in use", lambda r: r.randrange(1, 400),
       lambda r: r.randrange(0, 3), lambda r: r.randrange(800000, 900000000))
    st(6, "warning", R, "Client id={} addr={}:{} laddr={}:6379 fd={} name={} age={} idle={} flags={} db={} sub={} psub={} cmd={} user={} "
       "scheduled to be closed ASAP for overcoming of output buffer limits.",
       lambda r: r.randrange(3, 90000), ip, port, ip, lambda r: r.randrange(8, 900),
       lambda r: pick(r, ["", "", "sync-worker", "sidekiq", "celery"]), lambda r: r.randrange(0, 90000),
       lambda r: r.randrange(0, 600), kept(lambda r: pick(r, ["N", "P", "S", "O"])), lambda r: pick(r, [0, 0, 1]),
       lambda r: pick(r, [0, 1, 3]), lambda r: pick(r, [0, 1]), kept(lambda r: pick(r, ["subscribe", "psync", "monitor", "hgetall"])),
       lambda r: pick(r, ["default", "app", "replica"]))
    st(2, "warning", R, "WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition. "
       "To fix this issue add 'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command 'sysctl vm.overcommit_memory=1' for this to take effect.")

    # ---------------- Elasticsearch ----------------
    E = "elasticsearch"
    st(10, "INFO", E, "[o.e.c.m.MetadataCreateIndexService] [{}] [{}] creating index, cause [{}], templates [{}], shards [{}]/[{}]",
       es_node, index, kept(lambda r: pick(r, ["api", "auto(bulk api)", "rollover_index", "auto(index api)"])),
       lambda r: ", ".join(some(r, ["logs", "logs-default", "metrics", "orders-template", "ecs"], 0, 3)),
       lambda r: pick(r, [1, 1, 3, 5]), lambda r: pick(r, [0, 1, 1, 2]))
    st(6, "INFO", E, "[o.e.c.m.MetadataDeleteIndexService] [{}] [{}/{}] deleting index", es_node,
       lambda r: f"{pick(r, DATED)}-2025.02.{r.randrange(1, 29):02d}", es_uuid)
    st(22, "INFO", E, "[o.e.c.m.MetadataMappingService] [{}] [{}/{}] update_mapping [_doc]", es_node, index, es_uuid)
    st(24, "INFO", E, "[o.e.x.i.IndexLifecycleTransition] [{}] moving index [{}] from [{}] to [{}] in policy [{}]", es_node, index,
       kept(lambda r: '{"phase":"%s","action":"%s","name":"%s"}' % pick(r, ILM_STEPS)),
       kept(lambda r: '{"phase":"%s","action":"%s","name":"%s"}' % pick(r, ILM_STEPS)), lambda r: pick(r, ILM_POLICIES))
    st(8, "INFO", E, "[o.e.c.r.a.AllocationService] [{}] Cluster health status changed from [{}] to [{}] (reason: [{}]).", es_node,
       *[kept(g) for g in pair("h", [("YELLOW", "GREEN"), ("GREEN", "YELLOW"), ("RED", "YELLOW"), ("YELLOW", "RED")])],
       labelled_by(lambda r: pick(r, [f"shards started [[{index(r)}][{r.randrange(0, 5)}]]", f"index [{index(r)}] created",
                                   f"{{{es_node(r)}}}{{{es_uuid(r)}}} reason: disconnected", "reroute after starting shards",
                                   f"shards failed [[{index(r)}][{r.randrange(0, 5)}]]"]),
                # the allocation service's own reasons, the index, shard and node in them values (rule 5)
                [(r"shards started \[\[\S+\]\[\d+\]\]", "shards started [[<*>][<*>]]"),
                 (r"shards failed \[\[\S+\]\[\d+\]\]", "shards failed [[<*>][<*>]]"),
                 (r"index \[\S+\] created", "index [<*>] created"),
                 (r"\{\S+\}\{\S+\} reason: disconnected", "{<*>}{<*>} reason: disconnected"),
                 (r"reroute after starting shards", "reroute after starting shards")]))
    st(5, "INFO", E, "[o.e.c.s.ClusterApplierService] [{}] added {{{{{}}}{{{}}}{{{}}}{{{}:9300}}{{{}}}}}, term: {}, version: {}, reason: {}",
       es_node, es_node, es_uuid, es_uuid, ip, kept(lambda r: pick(r, ES_ROLES)), lambda r: r.randrange(2, 40),
       lambda r: r.randrange(100, 90000),
       labelled_by(lambda r: f"ApplyCommitRequest{{term={r.randrange(2, 40)}, version={r.randrange(100, 90000)}, sourceNode={{{pick(r, ES_NODES[3:5])}}}}}",
                [(r"ApplyCommitRequest\{.*\}", "ApplyCommitRequest{term=<*>, version=<*>, sourceNode={<*>}}")]))
    st(4, "INFO", E, "[o.e.c.s.MasterService] [{}] node-left[{{{}}}{{{}}}{{{}:9300}}{{{}}} reason: {}], term: {}, version: {}", es_node,
       es_node, es_uuid, ip, kept(lambda r: pick(r, ES_ROLES)),
       lambda r: Fixed(pick(r, ["disconnected", "disconnected", "followers check retry count exceeded"])),
       lambda r: r.randrange(2, 40), lambda r: r.randrange(100, 90000))
    st(5, "WARN", E, "[o.e.c.r.a.DiskThresholdMonitor] [{}] high disk watermark [{}] exceeded on [{}][{}][{}] free: {}[{}%], shards will be relocated away from this node; "
       "currently relocating away shards totalling [{}] bytes; the node is expected to continue to exceed the high disk watermark when these relocations are complete",
       es_node, lambda r: pick(r, ["90%", "90%", "95%"]), es_uuid, es_node, lambda r: "/var/lib/elasticsearch/nodes/0",
       es_bytes, lambda r: f"{r.randrange(2, 10)}.{r.randrange(10)}", lambda r: pick(r, [0, r.randrange(10**6, 10**11)]))
    st(5, "INFO", E, "[o.e.c.r.a.DiskThresholdMonitor] [{}] low disk watermark [{}] exceeded on [{}][{}][{}] free: {}[{}%], replicas will not be assigned to this node",
       es_node, lambda r: pick(r, ["85%", "85%", "80%"]), es_uuid, es_node, lambda r: "/var/lib/elasticsearch/nodes/0",
       es_bytes, lambda r: f"{r.randrange(10, 15)}.{r.randrange(10)}")
    st(14, "WARN", E, "[o.e.m.j.JvmGcMonitorService] [{}] [gc][{}] overhead, spent [{}] collecting in the last [{}]", es_node,
       lambda r: r.randrange(1000, 900000), es_time, es_time)
    st(6, "WARN", E, "[o.e.m.j.JvmGcMonitorService] [{}] [gc][{}][{}][{}] duration [{}], collections [{}]/[{}], total [{}]/[{}], memory [{}]->[{}]/[{}], all_pools {{{}}}",
       es_node, kept(lambda r: pick(r, ["young", "young", "old"])), lambda r: r.randrange(1000, 900000), lambda r: r.randrange(10, 9000),
       es_time, lambda r: r.randrange(1, 3), es_time, lambda r: r.randrange(10, 9000), es_time, es_bytes, es_bytes, es_bytes,
       lambda r: " ".join(f"[{p}] [{es_bytes(r)}]->[{es_bytes(r)}]/[{es_bytes(r)}]" for p in some(r, ["young", "old", "survivor"], 1, 3)))
    st(6, "DEBUG", E, "[o.e.a.s.TransportSearchAction] [{}] Failed to execute search on [{}]: {}", es_node, index,
       phrase(const("org.elasticsearch.tasks.TaskCancelledException: The parent task was cancelled, shouldn't start any child tasks"),
              lambda r: Fixed(f"org.elasticsearch.common.breaker.CircuitBreakingException: [parent] Data too large, data for [<http_request>] would be "
                              f"[{r.randrange(10**8, 10**9)}/{r.randrange(100, 999)}.{r.randrange(10)}mb], which is larger than the limit of [986061209/940.3mb]"),
              lambda r: Fixed(f"java.lang.IllegalArgumentException: Result window is too large, from + size must be less than or equal to: [10000] but was [{r.randrange(10001, 90000)}]."),
              lambda r: Phrase(f"org.elasticsearch.index.query.QueryShardException: failed to create query: For input string: \"{pick(r, ['abc', 'null', 'yesterday', 'none'])}\"",
                               "org.elasticsearch.index.query.QueryShardException: failed to create query: For input string: \"<*>\""),
              ))

    # ---------------- MySQL ----------------
    M = "mysqld"
    st(28, "Note", M, "[MY-010914] [Server] Aborted connection {} to db: '{}' user: '{}' host: '{}' ({}).",
       lambda r: r.randrange(10, 900000), lambda r: pick(r, DBS), lambda r: pick(r, DB_USERS),
       lambda r: pick(r, DB_HOSTS + [ip(r)]),
       lambda r: Fixed(pick(r, ["Got an error reading communication packets", "Got an error reading communication packets",
                                "Got timeout reading communication packets", "Got an error writing communication packets"])))
    st(9, "Note", M, "[MY-010926] [Server] Access denied for user '{}'@'{}' (using password: {})",
       lambda r: pick(r, DB_USERS + ["admin", "test"]), lambda r: pick(r, DB_HOSTS + ["%", ip(r)]), kept(lambda r: pick(r, ["YES", "YES", "NO"])))
    st(12, "Warning", M, "[MY-013360] [Server] Plugin mysql_native_password reported: ''mysql_native_password' is deprecated and will be removed in a future release. Please use caching_sha2_password instead'")
    st(10, "Note", M, "[MY-011953] [InnoDB] page_cleaner: 1000ms intended loop took {}ms. The settings might not be optimal. (flushed={}, during the time.)",
       lambda r: r.randrange(1001, 30000), lambda r: r.randrange(0, 4000))
    st(3, "Note", M, "[MY-010902] [Repl] Replica I/O thread for channel '{}': connected to source 'repl@{}:{}',replication started in log '{}' at position {}",
       lambda r: pick(r, ["", "", "analytics"]), lambda r: pick(r, ["db-primary", ip(r)]), lambda r: 3306,
       lambda r: f"binlog.{r.randrange(1, 999):06d}", lambda r: r.randrange(4, 900000000))
    st(5, "ERROR", M, "[MY-010584] [Repl] Replica I/O for channel '{}': Error reconnecting to source 'repl@{}:{}'. This was attempt {}/{}, with a delay of {} seconds between attempts. Message: {}",
       lambda r: pick(r, ["", "", "analytics"]), lambda r: pick(r, ["db-primary", ip(r)]), lambda r: 3306,
       lambda r: r.randrange(1, 30), lambda r: pick(r, [10, 86400]), lambda r: pick(r, [60, 10]),
       phrase(lambda r: Phrase(f"Can't connect to MySQL server on '{pick(r, ['db-primary', ip(r)])}:3306' (111)",
                               "Can't connect to MySQL server on '<*>:<*>' (111)"),
              lambda r: Phrase(f"Unknown MySQL server host '{pick(r, ['db-primary', 'db-primary.data.svc'])}' (-2)",
                               "Unknown MySQL server host '<*>' (-2)"),
              const("Lost connection to MySQL server at 'reading initial communication packet', system error: 104")))
    st(12, "Note", M, "# Query_time: {}  Lock_time: {} Rows_sent: {}  Rows_examined: {}",
       lambda r: f"{r.randrange(1, 40)}.{r.randrange(0, 999999):06d}", lambda r: f"0.{r.randrange(0, 99999):06d}",
       lambda r: pick(r, [0, 1, r.randrange(2, 5000)]), lambda r: r.randrange(0, 9000000))
    st(9, "Note", M, "# User@Host: {}[{}] @ {} [{}]  Id: {}",
       remember("u", lambda r: pick(r, DB_USERS)), recall("u"), lambda r: pick(r, ["", "", "localhost", "app-worker"]),
       lambda r: pick(r, ["", ip(r)]), lambda r: r.randrange(10, 900000))

    # ---------------- Envoy ----------------
    V = "envoy"
    st(110, "info", V, "[{}] \"{} {} {}\" {} {} {} {} {} {} \"{}\" \"{}\" \"{}\" \"{}\" \"{}\"",
       lambda r: f"2025-03-01T00:{r.randrange(0, 52):02d}:{r.randrange(0, 60):02d}.{r.randrange(0, 1000):03d}Z",
       kept(lambda r: pick(r, ["GET", "GET", "GET", "POST", "PUT", "DELETE"])),
       lambda r: pick(r, PATHS) + pick(r, ["", "", f"/{hexid(r, 8)}", f"?cursor={hexid(r, 12)}", "?q=red+shoes&page=2"]),
       kept(lambda r: pick(r, ["HTTP/1.1", "HTTP/1.1", "HTTP/2"])),
       lambda r: pick(r, [200, 200, 200, 200, 204, 301, 304, 400, 401, 404, 499, 503, 504]),
       kept(lambda r: pick(r, ["-", "-", "-", "-", "UF", "UH", "UT", "URX,UF", "DC"])),
       lambda r: pick(r, [0, 0, r.randrange(10, 9000)]), lambda r: r.randrange(0, 200000),
       lambda r: r.randrange(0, 3000), lambda r: pick(r, ["-", r.randrange(0, 3000)]),
       ip, lambda r: pick(r, UAS), lambda r: f"{hexid(r, 8)}-{hexid(r, 4)}-{hexid(r, 4)}-{hexid(r, 4)}-{hexid(r, 12)}",
       lambda r: pick(r, ["api.example.com", "sync.example.com", "search.internal", "backend"]),
       lambda r: pick(r, [f"{ip(r)}:{pick(r, [8080, 8443, 9000])}", "-"]))
    st(22, "debug", V, "[upstream] [source/common/upstream/upstream_impl.cc:{}] membership update for TLS cluster {} added {} removed {}",
       lambda r: pick(r, [424, 431]), lambda r: pick(r, CLUSTERS), lambda r: pick(r, [0, 0, 1, r.randrange(2, 9)]),
       lambda r: pick(r, [0, 0, 1, r.randrange(2, 9)]))
    st(7, "info", V, "[upstream] [source/common/upstream/cds_api_helper.cc:{}] cds: added/updated {} cluster(s), skipped {} unmodified cluster(s)",
       lambda r: 71, lambda r: r.randrange(0, 6), lambda r: r.randrange(0, 20))
    st(4, "info", V, "[upstream] [source/extensions/listener_managers/listener_manager/lds_api.cc:{}] lds: add/update listener '{}'",
       lambda r: 82, lambda r: pick(r, LISTENERS))
    st(2, "info", V, "[upstream] [source/extensions/listener_managers/listener_manager/lds_api.cc:{}] lds: remove listener '{}'",
       lambda r: 61, lambda r: pick(r, LISTENERS))
    st(12, "debug", V, "[router] [source/common/router/router.cc:{}] [Tags: \"ConnectionId\":\"{}\",\"StreamId\":\"{}\"] upstream reset: reset reason: {}",
       lambda r: pick(r, [1270, 1284]), lambda r: r.randrange(1, 90000), lambda r: r.randrange(10**17, 10**19),
       phrase(const("connection failure, transport failure reason: delayed connect error: 111"),
              const("connection termination, transport failure reason: "),
              const("connection timeout, transport failure reason: ")))

    # ---------------- etcd ----------------
    T = "etcd"
    st(3, "info", T, "{} is starting a new election at term {}", lambda r: pick(r, ETCD_IDS), lambda r: r.randrange(2, 600))
    st(8, "info", T, "{} became {} at term {}", lambda r: pick(r, ETCD_IDS),
       kept(lambda r: pick(r, ["candidate", "follower", "leader", "pre-candidate", "follower"])), lambda r: r.randrange(2, 600))
    st(3, "info", T, "raft.node: {} elected leader {} at term {}", lambda r: pick(r, ETCD_IDS), lambda r: pick(r, ETCD_IDS),
       lambda r: r.randrange(2, 600))
    st(2, "info", T, "raft.node: {} lost leader {} at term {}", lambda r: pick(r, ETCD_IDS), lambda r: pick(r, ETCD_IDS),
       lambda r: r.randrange(2, 600))
    st(26, "warning", T, "read-only range request \"key:\\\"{}\\\" {}\" with result \"{}\" took too long ({}) to execute",
       lambda r: pick(r, ETCD_KEYS),
       # optional parts of the request (rule 4)
       labelled_by(lambda r: pick(r, ["", "", "range_end:\\\"/registry/pods/default0\\\" ", "count_only:true ", "limit:500 ",
                                   "range_end:\\\"/registry/events/monitoring0\\\" limit:500 "]),
                [(r"", ""), (r'range_end:\\"\S+\\" ', 'range_end:\\"<*>\\" '), (r"count_only:true ", "count_only:true "),
                 (r"limit:\d+ ", "limit:<*> "), (r'range_end:\\"\S+\\" limit:\d+ ', 'range_end:\\"<*>\\" limit:<*> ')]),
       labelled_by(lambda r: pick(r, [f"range_response_count:{r.randrange(0, 500)} size:{r.randrange(5, 90000)}",
                                   f"range_response_count:0 size:{r.randrange(5, 9)}", "error:context canceled"]),
                [(r"range_response_count:\d+ size:\d+", "range_response_count:<*> size:<*>"),
                 (r"error:context canceled", "error:context canceled")]),
       lambda r: millis(r))
    st(8, "warning", T, "apply entries took too long [{} for {} entries]", lambda r: millis(r),
       lambda r: pick(r, [1, 1, 2, r.randrange(3, 40)]))
    st(5, "info", T, "finished scheduled compaction at {} (took {})", lambda r: r.randrange(100000, 9000000),
       lambda r: pick(r, [millis(r, 1), f"{r.randrange(100, 999)}.{r.randrange(100)}µs"]))

    # ---------------- Docker daemon and containerd ----------------
    D = "dockerd"
    st(30, "info", D, "msg=\"ignoring event\" container={} module=libcontainerd namespace=moby topic={} type=\"{}\"",
       container_id, *[kept(g) for g in pair("ev", [("/tasks/delete", "*events.TaskDelete"), ("/tasks/delete", "*events.TaskDelete"),
                                  ("/tasks/exit", "*events.TaskExit"), ("/tasks/oom", "*events.TaskOOM")])])
    st(14, "info", D, "msg=\"shim disconnected\" id={} namespace=moby", container_id)
    st(12, "warning", D, "msg=\"cleaning up after shim disconnected\" id={} namespace=moby", container_id)
    st(7, "warning", D, "msg=\"Health check for container {} error: {}\"", container_id,
       phrase(const("OCI runtime exec failed: exec failed: unable to start container process: exec: \\\"curl\\\": executable file not found in $PATH: unknown"),
              const("timed out starting health check for container")))
    st(4, "info", D, "msg=\"Container failed to exit within {} of signal 15 - using the force\" container={}",
       lambda r: pick(r, ["10s", "10s", "30s", "1m0s", "2s"]), container_id)
    st(4, "error", D, "msg=\"Handler for POST /v1.{}/containers/{}/start returned error: driver failed programming external connectivity on endpoint {} ({}): Bind for {}:{} failed: port is already allocated\"",
       lambda r: pick(r, [43, 44, 45]), remember("c", lambda r: pick(r, CONTAINERS)), recall("c"), container_id,
       lambda r: pick(r, ["0.0.0.0", "0.0.0.0", "127.0.0.1", "::"]), lambda r: pick(r, [80, 443, 6379, 8080, 9200, 5672]))
    st(4, "info", D, "msg=\"Attempting next endpoint for pull after error: {}\"",
       phrase(const("manifest unknown: manifest unknown"),
              const("toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"),
              lambda r: Phrase(f"unauthorized: authentication required for {pick(r, IMAGES)}", "unauthorized: authentication required for <*>")))

    # ---------------- RabbitMQ ----------------
    Q = "rabbitmq"
    st(20, "info", Q, "accepting AMQP connection {} ({}:{} -> {}:5672)", amqp_pid, ip, port, ip)
    st(18, "info", Q, "connection {} ({}:{} -> {}:5672{}): user '{}' authenticated and granted access to vhost '{}'",
       amqp_pid, ip, port, ip, labelled_by(lambda r: pick(r, ["", "", f" - {pick(r, CONN_NAMES)}"]), [(r"", ""), (r" - .*", " - <*>")]), lambda r: pick(r, MQ_USERS),
       lambda r: pick(r, VHOSTS))
    st(15, "info", Q, "closing AMQP connection {} ({}:{} -> {}:5672{}, vhost: '{}', user: '{}')",
       amqp_pid, ip, port, ip, labelled_by(lambda r: pick(r, ["", "", f" - {pick(r, CONN_NAMES)}"]), [(r"", ""), (r" - .*", " - <*>")]), lambda r: pick(r, VHOSTS),
       lambda r: pick(r, MQ_USERS))
    st(8, "warning", Q, "closing AMQP connection {} ({}:{} -> {}:5672, vhost: '{}', user: '{}'): client unexpectedly closed TCP connection",
       amqp_pid, ip, port, ip, lambda r: pick(r, VHOSTS), lambda r: pick(r, MQ_USERS))
    st(6, "error", Q, "Channel error on connection {} ({}:{} -> {}:5672, vhost: '{}', user: '{}'), channel {}: {}",
       amqp_pid, ip, port, ip, lambda r: pick(r, VHOSTS), lambda r: pick(r, MQ_USERS), lambda r: r.randrange(1, 12),
       phrase(lambda r: Phrase(f"operation queue.declare caused a channel exception precondition_failed: inequivalent arg 'durable' for queue '{pick(r, QUEUES)}' in vhost '{pick(r, VHOSTS)}': received 'false' but current is 'true'",
                               "operation queue.declare caused a channel exception precondition_failed: inequivalent arg 'durable' for queue '<*>' in vhost '<*>': received 'false' but current is 'true'"),
              lambda r: Phrase(f"operation basic.consume caused a channel exception not_found: no queue '{pick(r, QUEUES)}' in vhost '{pick(r, VHOSTS)}'",
                               "operation basic.consume caused a channel exception not_found: no queue '<*>' in vhost '<*>'"),
              lambda r: Phrase(f"operation basic.publish caused a channel exception not_found: no exchange '{pick(r, ['events', 'orders', 'amq.topicx'])}' in vhost '{pick(r, VHOSTS)}'",
                               "operation basic.publish caused a channel exception not_found: no exchange '<*>' in vhost '<*>'")))
    st(5, "info", Q, "Mirrored queue '{}' in vhost '{}': Adding mirror on node {}: {}", lambda r: pick(r, QUEUES),
       lambda r: pick(r, VHOSTS), lambda r: pick(r, MQ_NODES), lambda r: f"<{r.randrange(10000, 99999)}.{r.randrange(100, 9999)}.0>")
    st(3, "warning", Q, "vm_memory_high_watermark set. Memory used:{} allowed:{}", lambda r: r.randrange(3300000000, 3900000000),
       lambda r: 3279939993)
    st(3, "info", Q, "vm_memory_high_watermark clear. Memory used:{} allowed:{}", lambda r: r.randrange(1000000000, 3200000000),
       lambda r: 3279939993)
    return S


if __name__ == "__main__":
    make_extra.OUT = OUT
    make_extra.LINES = 1500
    write("DataStack", data_stack(), 23)
