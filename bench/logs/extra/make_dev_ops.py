#!/usr/bin/env python3
"""Writes OpsPlatform, a labelled DEVELOPMENT log of system software (issue 12): the
build, delivery and edge services of a software company as its operators see them in
one aggregated log, 1,500 lines in the Loghub-2k layout.

    python3 bench/logs/extra/make_dev_ops.py [OUT_DIR]

It holds a CI server and its runners (GitLab Runner's lines with their logfmt-like
fields, the job traces it forwards: checkout, cache, artifacts, `ERROR: Job failed`;
Jenkins' build results and agents), an S3-compatible object store (MinIO's request
trace, drives marked offline and reconnecting, healing, erasure-set quorum, bucket
notification errors, lifecycle expiry), DNS (CoreDNS query and error lines and its
reloads; BIND's query failures, zone loads and transfers), a mail transfer agent
(Postfix's smtpd, qmgr and smtp lines with queue ids, `relay=`, `delays=`,
`status=sent (250 2.0.0 Ok …)` / `deferred` / `bounced`, NOQUEUE rejects), secrets and
service discovery (Vault's leases, mounts and leadership; Consul's synced services and
checks, serf members and raft elections), monitoring (Prometheus' scrape, rule and TSDB
lines in logfmt; Alertmanager's received alerts and notifications) and a VPN gateway
(WireGuard's kernel debug lines, OpenVPN's server).

Made the way make_held_out_home.py made HomeApp (statements written after what that
software prints, each field drawn by a function, `Fixed` where a printed phrase such as
an error reason is part of the template, as Loghub's corrected labels keep it). Since
issue 12's seventh round the labels follow bench/logs/LABELLING.md: a word from a fixed
set the program defines is template text and an optional part makes a template of its
own (`word`, `kept`, `labelled` below wrap the drawn values; what is drawn is
unchanged). Written without reading the miner; fixed seed, deterministic, output
committed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import Fixed, byte_count, fixed, hexid, ip, kept, labelled_by, pick, some, write  # noqa: E402
import make_extra  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

PROJECTS = ["platform/billing", "platform/sync-engine", "web/storefront", "infra/terraform",
            "mobile/android-app", "tools/release-bot", "platform/ledger", "data/etl-jobs"]
JOBS = ["build", "test", "lint", "deploy-staging", "deploy-production", "package", "docs",
        "e2e", "sast", "release", "unit", "migrate"]
JENKINS_JOBS = ["billing-deploy", "nightly-backup", "storefront/main", "infra/plan",
                "release-train", "android/PR-sanity", "docs-publish", "sync-engine/main"]
RUNNERS = ["shared-amber", "builder-arm", "docker-autoscale", "macos-signing", "runner-oak",
           "gpu-birch"]
AGENTS = ["builder-arm", "builder-amd", "macos-signing", "windows-msi", "linux-large"]
BRANCHES = ["main", "develop", "release/stable", "feature/dark-mode", "fix/login-timeout",
            "renovate/lockfile", "hotfix"]
BUCKETS = ["artifacts", "runner-cache", "backups", "releases", "logs", "media",
           "terraform-state", "static"]
MINIO_NODES = ["minio-amber", "minio-basalt", "minio-cedar", "minio-dune"]
DRIVES = ["/mnt/disk1", "/mnt/disk2", "/mnt/disk3", "/mnt/disk4", "/data/export",
          "/mnt/data/xl"]
ZONES = ["ops.internal", "example.com", "corp.example.com", "svc.cluster.local",
         "mail.example.com", "in-addr.arpa"]
DNS_NAMES = ["artifacts.ops.internal", "gitlab.ops.internal", "vault.ops.internal",
             "registry.ops.internal", "api.example.com", "www.example.com", "mx.example.com",
             "consul.service.consul", "minio.ops.internal", "github.com", "proxy.golang.org",
             "pypi.org", "registry.npmjs.org", "smtp.sendgrid.net"]
MAIL_HOSTS = ["unknown", "mail-wr.google.com", "mx.example.net", "outbound.protection.outlook.com",
              "smtp.sendgrid.net", "relay.corp.example.com", "localhost", "gitlab.ops.internal"]
MAILBOXES = ["alice@example.com", "bob@example.org", "ci@example.com", "noreply@gitlab.ops.internal",
             "oncall@example.com", "carol.smith@gmail.com", "security@example.com",
             "dave@partner.example.net", "billing@example.com", "root@localhost"]
SERVICES = ["billing-api", "sync-engine", "storefront", "ledger", "mailer", "search",
            "gitlab", "minio", "vault", "registry"]
NODES = ["consul-sable", "consul-ivory", "consul-jade", "builder-arm", "minio-amber",
         "edge-west", "edge-east", "vault-core", "mx-edge"]
USERS = ["alice", "bob", "carol", "dave", "erin", "mallory", "svc-deploy", "oscar",
         "peggy", "trent", "victor"]
ALERTS = ["RunnerDown", "HighErrorRate", "DiskWillFillIn4Hours", "TargetDown", "CertExpiringSoon",
          "MinioDriveOffline", "PostfixQueueGrowing", "VaultSealed", "InstanceDown", "Watchdog",
          "HighLatency", "ConsulServiceCritical"]
RECEIVERS = ["ops-pager", "team-platform", "slack-ci", "email-oncall", "default", "null"]
INTEGRATIONS = ["slack[0]", "pagerduty[0]", "email[0]", "webhook[0]", "webhook[1]", "opsgenie[0]"]
SCRAPE_POOLS = ["node", "minio", "gitlab-runner", "postfix-exporter", "blackbox", "consul",
                "coredns", "vault"]
RULE_GROUPS = ["ci.rules", "storage", "dns", "mail", "node-exporter", "slo:availability"]


def port(r):
    return r.randrange(1024, 65536)




def ipport(r):
    return f"{ip(r)}:{port(r)}"


def public_ip(r):
    return f"{pick(r, [203, 198, 185, 91, 81, 46])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def queue_id(r):
    return "".join(r.choice("0123456789ABCDEF") for _ in range(r.choice([10, 11, 12])))


def job_id(r):
    return r.randrange(180000, 420000)


def runner_token(r):
    return "".join(r.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
                   for _ in range(8))


def sha(r):
    return hexid(r, 8)


def minio_size(r):
    n = byte_count(r)
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


def minio_time(r):
    return pick(r, [f"{r.randrange(100, 999)}µs", f"{r.randrange(1, 999)}.{r.randrange(100)}ms",
                    f"{r.randrange(1, 9)}.{r.randrange(1000):03d}s"])


def go_duration(r):
    return pick(r, [f"{r.randrange(1, 999)}.{r.randrange(1000):03d}ms", f"{r.randrange(1, 59)}.{r.randrange(10**6):06d}s",
                    f"{r.randrange(1, 20)}m{r.randrange(0, 59)}.{r.randrange(1000):03d}s", f"{r.randrange(100, 999)}µs"])


def secs(r):
    return f"{r.randrange(0, 3)}.{r.randrange(10**6):06d}s"


def serial(r):
    return f"2025{r.randrange(1, 4):02d}{r.randrange(1, 29):02d}{r.randrange(0, 20):02d}"


def lease(r):
    return pick(r, [f"auth/kubernetes/login/h{hexid(r, 40)}", f"auth/approle/login/{hexid(r, 40)}",
                    f"database/creds/{pick(r, ['billing', 'ledger', 'readonly'])}/{hexid(r, 24)}",
                    f"aws/creds/{pick(r, ['deploy', 'ci'])}/{runner_token(r)}{runner_token(r)}",
                    f"pki/issue/{pick(r, ['internal', 'edge'])}/{hexid(r, 36)}"])


def uuid(r):
    return make_extra.uuid(r)


def mbox(r):
    return pick(r, MAILBOXES)


def peer(r):
    return r.randrange(1, 80)


def ops_platform():
    S = []
    last = [None]
    relay = [None]

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # ---- CI: GitLab Runner (its own log, logfmt-like fields after the message) ----
    st(60, "I", "gitlab-runner",
       "Appending trace to coordinator...ok                 code=202 job={} job-log={} job-status={} runner={} sent-log={} status=202 Accepted update-interval={}",
       job_id, lambda r: f"0-{r.randrange(100, 90000)}", kept(lambda r: pick(r, ["running", "running", "running", "success", "failed"])),
       runner_token, lambda r: f"{r.randrange(0, 5000)}-{r.randrange(5000, 90000)}", lambda r: pick(r, ["3s", "3s", "1m0s", "30s"]))
    st(25, "I", "gitlab-runner",
       "Checking for jobs... received                       job={} repo_url={} runner={}",
       job_id, lambda r: f"https://gitlab.ops.internal/{pick(r, PROJECTS)}.git", runner_token)
    st(20, "I", "gitlab-runner",
       "Job succeeded                                       duration_s={} job={} project={} runner={}",
       lambda r: f"{r.randrange(3, 2400)}.{r.randrange(10**6)}", job_id, lambda r: r.randrange(10, 900), runner_token)
    st(8, "W", "gitlab-runner",
       "Job failed: {}  duration_s={} job={} project={} runner={}",
       fixed(["exit code 1", "exit code 1", "exit code 137", "execution took longer than 1h0m0s seconds"]),
       lambda r: f"{r.randrange(3, 3600)}.{r.randrange(10**6)}", job_id, lambda r: r.randrange(10, 900), runner_token)
    st(14, "I", "gitlab-runner",
       "Submitting job to coordinator...ok                  bytesize={} checksum=crc32:{} code=200 job={} job-status={} runner={} update-interval=0s",
       lambda r: r.randrange(200, 400000), lambda r: hexid(r, 8), job_id,
       kept(lambda r: pick(r, ["success", "success", "failed", "canceled"])), runner_token)
    st(3, "I", "gitlab-runner", "Registering runner... succeeded                     runner={}", runner_token)
    st(2, "E", "gitlab-runner",
       "Checking for jobs... failed                         runner={} status={}",
       runner_token, fixed(["502 Bad Gateway", "couldn't execute POST against https://gitlab.ops.internal/api/v4/jobs/request: dial tcp: i/o timeout"]))

    # ---- CI: job traces (the runner's job log, forwarded) ----
    st(18, "I", "ci-job", "Checking out {} as {}...", sha,
       labelled_by(lambda r: pick(r, [pick(r, BRANCHES), f"detached HEAD (ref is {pick(r, BRANCHES)})"]),
                [(r"detached HEAD \(ref is .*\)", "detached HEAD (ref is <*>)")]))
    st(12, "I", "ci-job", "Checking cache for {}...",
       lambda r: f"{pick(r, ['node-modules', 'cargo', 'gradle', 'pip', 'go-mod'])}-{pick(r, BRANCHES).replace('/', '-')}{pick(r, ['-protected', '-non_protected', ''])}")
    st(8, "I", "ci-job", "Successfully extracted cache")
    st(9, "I", "ci-job", "Uploading cache.zip to {}",
       lambda r: f"https://minio.ops.internal/runner-cache/project/{r.randrange(10, 900)}/{pick(r, ['node-modules', 'cargo', 'gradle'])}-{pick(r, BRANCHES).replace('/', '-')}")
    st(5, "W", "ci-job",
       "WARNING: {}: no matching files. Ensure that the artifact path is relative to the working directory ({})",
       lambda r: pick(r, ["reports/junit.xml", "coverage/cobertura.xml", "gl-sast-report.json", "dist/*.whl"]),
       lambda r: f"/builds/{pick(r, PROJECTS)}")
    st(10, "I", "ci-job",
       "Uploading artifacts as \"{}\" to coordinator... 201 Created  id={} responseStatus=201 Created token={}",
       kept(lambda r: pick(r, ["archive", "archive", "junit", "cobertura", "dotenv", "sast"])), job_id,
       lambda r: f"glcbt-{runner_token(r)}")
    st(4, "E", "ci-job", "ERROR: Job failed: {}",
       fixed(["exit code 1", "exit code 2", "exit code 137", "command terminated with exit code 1"]))

    # ---- CI: Jenkins ----
    st(12, "I", "jenkins", "hudson.model.Run#execute: {} #{} main build action completed: {}",
       lambda r: pick(r, JENKINS_JOBS), lambda r: r.randrange(1, 3000),
       kept(lambda r: pick(r, ["SUCCESS", "SUCCESS", "SUCCESS", "FAILURE", "UNSTABLE", "ABORTED"])))
    st(4, "I", "jenkins", "hudson.slaves.SlaveComputer#setChannel: Agent {} is connected and online",
       lambda r: pick(r, AGENTS))

    # ---- Object store: MinIO ----
    st(80, "I", "minio",
       "[{}] s3.{} {}:9000/{} {} {} ↑ {} ↓ {}",
       fixed(["200 OK", "200 OK", "200 OK", "204 No Content", "206 Partial Content",
              "404 Not Found", "403 Forbidden", "503 Service Unavailable"]),
       kept(lambda r: pick(r, ["GetObject", "GetObject", "PutObject", "PutObject", "HeadObject", "ListObjectsV2",
                               "DeleteObject", "PutObjectPart", "CompleteMultipartUpload", "NewMultipartUpload"])),
       lambda r: pick(r, MINIO_NODES),
       lambda r: pick(r, [f"{pick(r, BUCKETS)}/{pick(r, ['builds', 'project', 'snapshots', 'v2'])}/{pick(r, PROJECTS).split('/')[1]}/{hexid(r, 8)}.zip",
                          f"{pick(r, BUCKETS)}/", f"{pick(r, BUCKETS)}/{pick(r, ['index.html', 'latest/manifest.json', 'env:/prod/terraform.tfstate'])}"]),
       ip, minio_time, minio_size, minio_size)
    st(6, "W", "minio", "Marking http://{}:9000{} offline temporarily; caused by Post \"http://{}:9000/minio/storage{}/v1/diskinfo\": {}",
       lambda r: last.__setitem__(0, (pick(r, MINIO_NODES), pick(r, DRIVES))) or last[0][0], lambda r: last[0][1],
       lambda r: last[0][0], lambda r: last[0][1],
       fixed(["dial tcp: i/o timeout", "context deadline exceeded"]))
    st(5, "I", "minio", "Client 'http://{}:9000{}' re-connected in {}", lambda r: pick(r, MINIO_NODES),
       lambda r: pick(r, DRIVES), go_duration)
    st(4, "I", "minio", "Healing of drive '{}' is finished (healed: {}, skipped: {}, failed: {}).",
       lambda r: pick(r, DRIVES), lambda r: r.randrange(0, 90000), lambda r: r.randrange(0, 500), lambda r: pick(r, [0, 0, 0, r.randrange(1, 40)]))
    st(5, "E", "minio", "Unable to send an event to the target arn:minio:sqs::{}:webhook for bucket {}: {}",
       lambda r: pick(r, ["PRIMARY", "ci", "audit"]), lambda r: pick(r, BUCKETS),
       fixed(["context deadline exceeded", "target is offline"]))
    st(3, "W", "minio", "Erasure set {} in pool {} lost write quorum: {} of {} drives online",
       lambda r: r.randrange(0, 8), lambda r: r.randrange(0, 2), lambda r: r.randrange(1, 5), lambda r: pick(r, [8, 12, 16]))
    st(4, "I", "minio", "Lifecycle: expired {} objects in bucket {}{}",
       lambda r: r.randrange(1, 5000), lambda r: pick(r, BUCKETS),
       labelled_by(lambda r: pick(r, ["", "", f" ({r.randrange(1, 999)}.{r.randrange(10)} MiB)", f" ({r.randrange(1, 99)}.{r.randrange(10)} GiB)"]),
                [(r"", ""), (r" \(.*\)", " (<*>)")]))

    # ---- DNS: CoreDNS ----
    st(110, "I", "coredns", "[INFO] {} - {} \"{} IN {}. {} {} {} {}\" {} {} {} {}",
       ipport, lambda r: r.randrange(0, 65536),
       kept(lambda r: pick(r, ["A", "A", "AAAA", "AAAA", "SRV", "PTR", "MX", "TXT"])),
       lambda r: pick(r, DNS_NAMES), kept(lambda r: pick(r, ["udp", "udp", "udp", "tcp"])),
       lambda r: r.randrange(30, 90), kept(lambda r: pick(r, ["false", "false", "true"])),
       lambda r: pick(r, [512, 1232, 4096, 65535]),
       kept(lambda r: pick(r, ["NOERROR", "NOERROR", "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"])),
       lambda r: (lambda fl: ",".join(f for f in ["qr", "aa", "tc", "rd", "ra"] if f in fl))(["qr"] + some(r, ["aa", "tc", "rd", "ra"], 0, 3)),
       lambda r: r.randrange(40, 600), lambda r: pick(r, [f"0.000{r.randrange(10, 999)}s", f"0.00{r.randrange(1000, 9999)}s", f"0.{r.randrange(10000, 999999)}s"]))
    st(9, "E", "coredns", "[ERROR] plugin/errors: 2 {}. {}: read udp {}->{}:53: i/o timeout",
       lambda r: pick(r, DNS_NAMES), kept(lambda r: pick(r, ["A", "AAAA", "SRV"])), ipport, ip)
    st(3, "I", "coredns", "[INFO] Reloading complete")

    # ---- DNS: BIND ----
    st(10, "W", "named", "client @0x{} {}#{} ({}): query failed ({}) for {}/IN/{} at query.c:{}",
       lambda r: hexid(r, 12), ip, port, lambda r: pick(r, DNS_NAMES),
       kept(lambda r: pick(r, ["SERVFAIL", "SERVFAIL", "REFUSED", "timed out"])), lambda r: pick(r, DNS_NAMES),
       kept(lambda r: pick(r, ["A", "AAAA", "MX", "DS"])), lambda r: pick(r, [7201, 7201, 6840]))
    st(6, "I", "named", "zone {}/IN{}: loaded serial {}", lambda r: pick(r, ZONES),
       kept(lambda r: pick(r, ["", "", " (signed)"])), serial)
    st(4, "I", "named",
       "transfer of '{}/IN' from {}#53: Transfer completed: {} messages, {} records, {} bytes, {} secs ({} bytes/sec) (serial {})",
       lambda r: pick(r, ZONES), ip, lambda r: r.randrange(1, 30), lambda r: r.randrange(5, 40000),
       lambda r: r.randrange(300, 2000000), lambda r: f"{r.randrange(0, 3)}.{r.randrange(1000):03d}",
       lambda r: r.randrange(1000, 90000000), serial)

    # ---- Mail: Postfix ----
    st(35, "I", "postfix/smtpd", "connect from {}[{}]", lambda r: pick(r, MAIL_HOSTS), public_ip)
    st(33, "I", "postfix/smtpd", "disconnect from {}[{}] {}", lambda r: pick(r, MAIL_HOSTS), public_ip,
       lambda r: (lambda cmds: " ".join(f"{c}={n}" for c, n in cmds) + f" commands={sum(n for _, n in cmds)}")(
           [(c, 1) for c in ["ehlo", "starttls", "auth", "mail", "rcpt", "data", "quit"] if c in ("ehlo",) or r.random() < 0.6]))
    st(20, "I", "postfix/smtpd", "{}: client={}[{}]{}", queue_id, lambda r: pick(r, MAIL_HOSTS), public_ip,
       labelled_by(lambda r: pick(r, ["", "", f", sasl_method=PLAIN, sasl_username={pick(r, MAILBOXES)}"]),
                [(r"", ""), (r", sasl_method=PLAIN, sasl_username=.*", ", sasl_method=PLAIN, sasl_username=<*>")]))
    st(22, "I", "postfix/qmgr", "{}: from=<{}>, size={}, nrcpt={} (queue active)", queue_id,
       lambda r: pick(r, MAILBOXES + [""]), lambda r: r.randrange(400, 900000), lambda r: pick(r, [1, 1, 1, 2, 5]))
    st(40, "I", "postfix/smtp", "{}: to=<{}>, relay={}, delay={}, delays={}, dsn={}, status={} ({})",
       queue_id, mbox,
       lambda r: last.__setitem__(0, pick(r, ["sent", "sent", "sent", "sent", "deferred", "bounced"])) or
       relay.__setitem__(0, pick(r, [f"{pick(r, MAIL_HOSTS[1:])}[{public_ip(r)}]:25", f"{pick(r, MAIL_HOSTS[1:])}[{public_ip(r)}]:25", "local"])
        if last[0] == "sent" else pick(r, ["none", f"{pick(r, MAIL_HOSTS[1:])}[{public_ip(r)}]:25"])
        if last[0] == "deferred" else f"{pick(r, MAIL_HOSTS[1:])}[{public_ip(r)}]:25") or relay[0],
       lambda r: f"{r.randrange(0, 5)}.{r.randrange(100)}" if last[0] == "sent" else str(r.randrange(100, 90000)),
       lambda r: "/".join(pick(r, ["0", f"0.{r.randrange(100):02d}", f"{r.randrange(1, 9)}.{r.randrange(10)}"]) for _ in range(4)),
       lambda r: {"sent": "2.0.0", "deferred": "4.4.1", "bounced": "5.1.1"}[last[0]],
       kept(lambda r: last[0]),
       labelled_by(lambda r: {"sent": "delivered to mailbox" if relay[0] == "local" else f"250 2.0.0 Ok: queued as {queue_id(r)}",
                  "deferred": pick(r, [f"connect to {pick(r, MAIL_HOSTS[1:])}[{public_ip(r)}]:25: Connection timed out",
                                       "delivery temporarily suspended: connect to mx.example.net[198.51.100.7]:25: Connection refused",
                                       "host mx.example.net said: 451 4.7.1 Greylisting in action, please come back later (in reply to RCPT TO command)"]),
                  "bounced": f"host {pick(r, MAIL_HOSTS[1:])}[{public_ip(r)}] said: 550 5.1.1 <{mbox(r)}>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)"}[last[0]],
                # the program's own phrases; a remote server's reply (`250 2.0.0 Ok: …`) is a value
                [(r"delivered to mailbox", "delivered to mailbox"),
                 (r"connect to \S+\[\S+\]:\d+: Connection timed out", "connect to <*>[<*>]:<*>: Connection timed out"),
                 (r"delivery temporarily suspended: connect to \S+\[\S+\]:\d+: Connection refused",
                  "delivery temporarily suspended: connect to <*>[<*>]:<*>: Connection refused"),
                 (r"host [^\s\[]+\[\S+\] said: .* \(in reply to RCPT TO command\)", "host <*>[<*>] said: <*> (in reply to RCPT TO command)"),
                 (r"host [^\s\[]+ said: .* \(in reply to RCPT TO command\)", "host <*> said: <*> (in reply to RCPT TO command)")]))
    st(18, "I", "postfix/qmgr", "{}: removed", queue_id)
    st(6, "W", "postfix/smtpd", "NOQUEUE: reject: RCPT from {}[{}]: {} <{}>: {}; from=<{}> to=<{}> proto=ESMTP helo=<{}>",
       lambda r: pick(r, MAIL_HOSTS), public_ip,
       lambda r: last.__setitem__(0, pick(r, [("554 5.7.1", "Relay access denied"),
                                              ("450 4.1.8", "Sender address rejected: Domain not found"),
                                              ("550 5.1.1", "Recipient address rejected: User unknown in local recipient table")])) or last[0][0],
       mbox, lambda r: make_extra.Fixed(last[0][1]), mbox, mbox, lambda r: pick(r, ["localhost", "ylmf-pc", "mail.example.net", "User", f"[{public_ip(r)}]"]))

    # ---- Secrets and service discovery: Vault ----
    st(22, "I", "vault", "expiration: revoked lease: lease_id={}", lease)
    st(4, "E", "vault", "expiration: failed to revoke lease: lease_id={} error=\"{}\"", lease,
       fixed(["failed to revoke entry: resp: (*logical.Response)(nil) err: context deadline exceeded",
              "permission denied"]))
    st(4, "I", "vault", "core: successful mount: namespace=\"{}\" path={}/ type={} version=\"{}\"",
       lambda r: pick(r, ["", "", "", "platform/"]), lambda r: pick(r, ["secret", "ci", "pki", "database", "transit", "kv-deploy"]),
       kept(lambda r: pick(r, ["kv", "pki", "database", "transit", "approle"])), lambda r: pick(r, ["", "", "v0.16.0+builtin"]))
    st(2, "W", "vault", "core: leadership lost, stopping active operation")

    # ---- Consul ----
    st(9, "I", "consul", "agent: Synced service: service={}", lambda r: pick(r, SERVICES))
    st(8, "I", "consul", "agent: Synced check: check={}",
       lambda r: pick(r, [f"service:{pick(r, SERVICES)}", f"{pick(r, SERVICES)}-http", "serfHealth"]))
    st(9, "W", "consul", "agent: Check is now critical: check={}", lambda r: f"service:{pick(r, SERVICES)}")
    st(10, "D", "consul", "agent: Check status updated: check={} status={}",
       lambda r: pick(r, [f"service:{pick(r, SERVICES)}", "serfHealth", f"{pick(r, SERVICES)}-http"]),
       kept(lambda r: pick(r, ["passing", "passing", "warning", "critical"])))
    st(5, "I", "consul", "agent.server.serf.lan: serf: {}: {} {}",
       kept(lambda r: pick(r, ["EventMemberJoin", "EventMemberJoin", "EventMemberLeave", "EventMemberFailed", "EventMemberUpdate"])),
       lambda r: pick(r, NODES), ip)
    st(2, "W", "consul", "agent.server.raft: heartbeat timeout reached, starting election: last-leader-addr={} last-leader-id={}",
       lambda r: pick(r, ["", f"{ip(r)}:8300"]), lambda r: pick(r, ["", uuid(r)]))
    st(2, "I", "consul", "agent.server.raft: election won: term={} tally={}", lambda r: r.randrange(2, 200), lambda r: pick(r, [2, 3]))

    # ---- Monitoring: Prometheus ----
    st(20, "W", "prometheus",
       "caller=scrape.go:1351 level=warn component=\"scrape manager\" scrape_pool={} target={} msg=\"Scrape failed\" err=\"{}\"",
       lambda r: pick(r, SCRAPE_POOLS), lambda r: f"http://{ip(r)}:{pick(r, [9100, 9000, 9252, 9154, 9115, 8500])}/metrics",
       fixed(["context deadline exceeded", "server returned HTTP status 500 Internal Server Error",
              "dial tcp: connect: connection refused"]))
    st(6, "W", "prometheus",
       "caller=manager.go:663 level=warn component=\"rule manager\" file=/etc/prometheus/rules/{}.yml group={} name={} index={} msg=\"Evaluating rule failed\" rule=\"alert: {}\" err=\"{}\"",
       lambda r: pick(r, ["ci", "storage", "mail", "edge"]), lambda r: pick(r, RULE_GROUPS), lambda r: pick(r, ALERTS),
       lambda r: r.randrange(0, 12), lambda r: pick(r, ALERTS),
       fixed(["found duplicate series for the match group on the right hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side",
              "query timed out in expression evaluation"]))
    st(5, "I", "prometheus", "caller=compact.go:519 level=info component=tsdb msg=\"write block\" mint={} maxt={} ulid={} duration={}",
       lambda r: last.__setitem__(0, 1740787200000 + r.randrange(0, 90) * 7200000) or last[0], lambda r: last[0] + 7200000,
       lambda r: "01J" + "".join(r.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(23)), go_duration)

    # ---- Monitoring: Alertmanager ----
    st(25, "D", "alertmanager", "component=dispatcher msg=\"Received alert\" alert={}[{}][{}]",
       lambda r: pick(r, ALERTS), lambda r: hexid(r, 7), kept(lambda r: pick(r, ["active", "active", "resolved"])))
    st(14, "I", "alertmanager", "component=dispatcher receiver={} integration={} aggrGroup=\"{{}}:{{alertname=\\\"{}\\\"}}\" msg=\"Notify success\" attempts={}",
       lambda r: pick(r, RECEIVERS), fixed(INTEGRATIONS), lambda r: pick(r, ALERTS), lambda r: pick(r, [1, 1, 1, 2, 3]))
    st(6, "W", "alertmanager", "component=dispatcher receiver={} integration={} msg=\"Notify attempt failed, will retry later\" attempts={} err=\"{}\"",
       lambda r: pick(r, RECEIVERS), fixed(INTEGRATIONS), lambda r: r.randrange(1, 6),
       fixed(["Post \\\"<redacted>\\\": context deadline exceeded", "*smtp.plainAuth auth: 535 5.7.8 Error: authentication failed"]))
    st(3, "E", "alertmanager", "component=dispatcher msg=\"Notify for alerts failed\" num_alerts={} err=\"{}/{}: notify retry canceled after {} attempts: {}\"",
       lambda r: r.randrange(1, 20), lambda r: pick(r, RECEIVERS), fixed(INTEGRATIONS), lambda r: r.randrange(2, 17),
       fixed(["context deadline exceeded", "unexpected status code 500"]))

    # ---- VPN: WireGuard (kernel dynamic debug) ----
    st(20, "D", "kernel", "wireguard: {}: Receiving handshake initiation from peer {} ({}:{})",
       lambda r: pick(r, ["wg0", "wg0", "wg-office"]), peer, public_ip, lambda r: pick(r, [51820, port(r)]))
    st(18, "D", "kernel", "wireguard: {}: Sending handshake response to peer {} ({}:{})",
       lambda r: pick(r, ["wg0", "wg0", "wg-office"]), peer, public_ip, lambda r: pick(r, [51820, port(r)]))
    st(12, "D", "kernel", "wireguard: {}: Receiving keepalive packet from peer {} ({}:{})",
       lambda r: pick(r, ["wg0", "wg0", "wg-office"]), peer, public_ip, lambda r: pick(r, [51820, port(r)]))
    st(5, "D", "kernel", "wireguard: {}: Handshake for peer {} ({}:{}) did not complete after 5 seconds, retrying (try {})",
       lambda r: pick(r, ["wg0", "wg-office"]), peer, public_ip, lambda r: pick(r, [51820, port(r)]), lambda r: r.randrange(2, 21))

    # ---- VPN: OpenVPN ----
    st(7, "I", "openvpn", "{}/{}:{} MULTI_sva: pool returned IPv4={}, IPv6={}",
       lambda r: pick(r, USERS), public_ip, port, lambda r: f"10.8.{r.randrange(0, 4)}.{r.randrange(2, 254)}",
       lambda r: pick(r, ["(Not enabled)", "(Not enabled)", f"fd00:8::{hexid(r, 4).lstrip('0') or '1'}"]))
    st(6, "I", "openvpn", "{}:{} VERIFY OK: depth={}, CN={}", public_ip, port,
       lambda r: last.__setitem__(0, pick(r, [0, 0, 1])) or last[0],
       lambda r: pick(r, USERS) if last[0] == 0 else "Ops Platform VPN CA")
    st(5, "W", "openvpn", "{}:{} TLS Error: TLS key negotiation failed to occur within 60 seconds (check your network connectivity)",
       public_ip, port)
    return S


if __name__ == "__main__":
    make_extra.OUT = OUT
    make_extra.LINES = 1500
    write("OpsPlatform", ops_platform(), 23)
