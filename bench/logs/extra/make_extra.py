#!/usr/bin/env python3
"""Writes labelled logs of our own for developing the template miner: three systems
of 2,000 lines each, in the Loghub-2k layout (`<S>/<S>_2k.log` and
`<S>/<S>_2k.log_structured_corrected.csv` with `Content` and `EventTemplate`).

    python3 bench/logs/extra/make_extra.py [OUT_DIR]

How they are made: every system is a list of logging statements written after the
messages real software prints (Android framework services and common Android libraries,
our own sync client, a web back end, Linux desktop daemons), each a format string with
`{}` fields and a function that draws the field values. A line's label is its statement:
the format string with every field written `<*>`, so two lines share a template exactly
when the same statement printed them, whatever the values look like. The values are
drawn to carry what app logs carry and what the Loghub samples have little of: fields
that are sometimes absent or longer (an optional unit or clause, a list of any length),
names without digits (hosts, services, users, network and device names, some with
spaces), values that look like words in some lines and not in others, and groups of
statements that share a long prefix. Where Loghub's labels keep a printed phrase in the
template rather than as a value (an exception's text, a reason, a command line), the
field is drawn as `Fixed`: the label keeps it, numbers in it as `<*>`, so each phrase
is a template of its own, as in those labels. The labels follow bench/logs/LABELLING.md:
a word from a small fixed set the program defines is drawn as `word` (kept in the
label), an optional part as `Fixed` or `Part` (its words kept, its values `<*>`, nothing
when absent); the wrapping never changes what is drawn. Statements are drawn with the frequencies such logs show
(fixed seeds; the output is deterministic and committed).

The miner's rules and thresholds are chosen by leave-one-system-out over these and the
ten Loghub systems (`accord bench ga`); none of these files is ever held out by being
left out of the repository, so they are development data, not a test set.
"""
import os
import random
import re
import string
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else HERE
LINES = 2000


# ---- value generators ------------------------------------------------------------

def hexid(r, n=7):
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def uuid(r):
    return f"{hexid(r, 8)}-{hexid(r, 4)}-4{hexid(r, 3)}-{r.choice('89ab')}{hexid(r, 3)}-{hexid(r, 12)}"


def ip(r):
    return f"{r.choice([10, 172, 192])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def mac(r):
    return ":".join(f"{r.randrange(256):02x}" for _ in range(6))


def ms(r, lo=1, hi=900):
    return r.randrange(lo, hi)


def took(r, max_minutes=9):
    """A duration with its unit, in the unit that suits it (`412ms`, `3.5s`, `2m14s`)."""
    return pick(r, [f"{r.randrange(1, 999)}ms", f"{r.randrange(1, 59)}.{r.randrange(10)}s",
                    f"{r.randrange(1, max_minutes)}m{r.randrange(0, 59)}s"])


def size(r):
    """A size printed as apps print it: bytes, or a unit with the byte count after it."""
    n = r.choice([r.randrange(10, 1000), r.randrange(1000, 10**6), r.randrange(10**6, 10**8)])
    if n < 1000:
        return f"{n} B"
    unit, div = ("KB", 1024) if n < 10**6 else ("MB", 1024 * 1024)
    if r.random() < 0.5:
        return f"{n / div:.1f} {unit}"
    # The byte count in parentheses is an optional part (bench/logs/LABELLING.md, rule 4).
    return Part(f"{n / div:.1f} {unit} ({n} bytes)", "<*> (<*> bytes)")


def byte_count(r):
    """A byte count of any magnitude: none, bytes, kilobytes' or megabytes' worth."""
    return pick(r, [0, r.randrange(1, 1024), r.randrange(1024, 10**6), r.randrange(10**6, 10**9)])


def duration(r):
    """Android's `+1s204ms` style."""
    t = r.randrange(40, 4000)
    return f"+{t // 1000}s{t % 1000}ms" if t >= 1000 else f"+{t}ms"


PACKAGES = ["com.example.notes", "com.whatsapp", "com.spotify.music", "org.telegram.messenger",
            "com.google.android.gm", "com.android.chrome", "com.instagram.android",
            "com.strava", "de.danoeh.antennapod", "org.mozilla.firefox"]
ACTIVITIES = [".MainActivity", ".ui.HomeActivity", ".settings.SettingsActivity",
              ".player.PlayerActivity", ".LoginActivity", ".editor.NoteEditorActivity"]
HOSTS = ["api.example.com", "cdn.example.com", "gateway", "auth", "db-primary", "db-replica",
         "cache", "search.internal", "media-store", "localhost", "node7.cluster.local"]
SERVICES = ["billing", "search", "notifications", "auth", "media", "sync", "profile",
            "ledger", "thumbnails", "mailer"]
USERS = ["alice", "bob", "carol", "dave", "erin", "mallory", "u_48213", "svc-backup", "root",
         "trent", "peggy", "victor", "walter", "oscar", "u_90210", "admin"]
SSIDS = ["HomeNet", "eduroam", "Cafe Guest", "AndroidAP", "FRITZ!Box 7590", "Office-5G",
         "Free Airport WiFi", "linksys"]
BT_DEVICES = ["Pixel Buds Pro", "JBL Flip 5", "Galaxy Watch4", "WH-1000XM4", "Car Audio",
              "Fitbit Charge", "Bose QC35 II", "Mi Band"]
WORDS = ["groceries", "meeting notes", "travel plan", "recipe", "todo", "ideas", "books to read",
         "budget", "workout", "gift list", "draft", "journal"]
EXCEPTIONS = [
    "java.net.SocketTimeoutException: timeout",
    "java.net.SocketTimeoutException: failed to connect to api.example.com/10.2.0.7 (port 443) from /192.168.1.23 (port 48812) after 10000ms",
    "java.net.UnknownHostException: Unable to resolve host \"api.example.com\": No address associated with hostname",
    "javax.net.ssl.SSLHandshakeException: Chain validation failed",
    "java.io.IOException: unexpected end of stream on https://api.example.com/...",
    "java.net.ConnectException: Connection refused",
    "HTTP 503 Service Unavailable",
    "HTTP 401 Unauthorized",
]


# How each exception above is labelled: its text, with the host, addresses, ports and
# numbers in it as values (bench/logs/LABELLING.md, rule 5).
EXCEPTION_LABELS = dict(zip(EXCEPTIONS, [
    "java.net.SocketTimeoutException: timeout",
    "java.net.SocketTimeoutException: failed to connect to <*> (port <*>) from <*> (port <*>) after <*>ms",
    "java.net.UnknownHostException: Unable to resolve host \"<*>\": No address associated with hostname",
    "javax.net.ssl.SSLHandshakeException: Chain validation failed",
    "java.io.IOException: unexpected end of stream on <*>",
    "java.net.ConnectException: Connection refused",
    "HTTP <*> Service Unavailable",
    "HTTP <*> Unauthorized",
]))


def pick(r, xs):
    return r.choice(xs)


class Fixed(str):
    """A field value that is part of the template, as Loghub's labels keep an exception
    text or a reason phrase: the label shows it, with its numbers as `<*>`."""

    def template(self):
        import re
        return re.sub(r"\d+", "<*>", self)


def fixed(xs):
    return lambda r: Fixed(r.choice(xs))


class Part(str):
    """A field value with the label given beside it: an optional part (its own words
    kept, its values `<*>`, nothing when absent) or a value with a fixed word in it
    (bench/logs/LABELLING.md, rules 3 and 4). `Part("1.2 MB (1258291 bytes)",
    "<*> (<*> bytes)")`."""

    def __new__(cls, text, label):
        part = super().__new__(cls, text)
        part.label = label
        return part

    def template(self):
        return self.label


def word(v):
    """A word from a small fixed set the program defines (a state, mode, result, kind,
    method): kept in the label exactly as printed, so each makes a template of its own
    (bench/logs/LABELLING.md, rule 3). Draws nothing."""
    return Part(str(v), str(v))


def among(v, words):
    """`v` kept in the label when it is one of the fixed `words` the program prints in
    place of a value (`unknown`, `cached`), else a value. Draws nothing."""
    return word(v) if v in words else v


def labelled(labels):
    """Like `fixed`, but each phrase with its label written out (open names and numbers
    inside it as `<*>`, rule 5). Draws what `fixed(list(labels))` draws."""
    xs = list(labels)
    return lambda r: (lambda v: Part(v, labels[v]))(r.choice(xs))


def kept(gen):
    """A field drawn by `gen`, its value kept in the label as a word of its own (rule 3).
    Draws what `gen` draws."""
    return lambda r: word(str(gen(r)))


def kept_word(xs):
    """A word drawn from the program's own set `xs`, kept whole in the label, digits too
    (`H.264`, `PG-13`; `fixed` would write `H.<*>`)."""
    return lambda r: word(pick(r, xs))


def labelled_by(gen, rules):
    """A field drawn by `gen`, labelled by the first (pattern, label) that matches the
    whole text: an optional part or a phrase from a fixed set with its values `<*>`
    (rules 4 and 5); a label may be a function of the match. Text no pattern matches is
    a value. Draws what `gen` draws."""
    def g(r):
        text = str(gen(r))
        for pattern, label in rules:
            m = re.fullmatch(pattern, text, re.S)
            if m:
                return Part(text, label(m) if callable(label) else label)
        return text
    return g


def some(r, xs, lo=1, hi=4):
    return r.sample(xs, r.randrange(lo, min(hi, len(xs)) + 1))


def pkg(r):
    return pick(r, PACKAGES)


def component(r):
    return f"{pkg(r)}/{pick(r, ACTIVITIES)}"


# ---- system 1: an Android phone's logcat (framework, libraries, our sync client) ----

def app_logcat():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    st(25, "I", "ActivityTaskManager", "Displayed {}: {}", component, duration)
    st(15, "I", "ActivityTaskManager", "Displayed {}: {} (total {})", component, duration, duration)
    st(25, "I", "ActivityManager", "Start proc {}:{}/u0a{} for {} {}",
       lambda r: r.randrange(2000, 30000), pkg, lambda r: r.randrange(10, 400),
       lambda r: word(pick(r, ["activity", "service", "broadcast", "content provider", "top-activity"])),
       lambda r: "{" + component(r) + "}")
    st(10, "I", "ActivityManager", "Killing {}:{}/u0a{} (adj {}): {}",
       lambda r: r.randrange(2000, 30000), pkg, lambda r: r.randrange(10, 400),
       lambda r: pick(r, [900, 905, 915, 925, 999, 700]),
       lambda r: Fixed(pick(r, [f"empty #{r.randrange(17, 40)}", "remove task", f"cached #{r.randrange(1, 30)}", "too many background"])))
    st(60, "D", "OkHttp", "--> {} {}",
       lambda r: word(pick(r, ["GET"] * 6 + ["POST", "PUT", "DELETE"])),
       lambda r: f"https://{pick(r, HOSTS[:2])}/v1/spaces/s{r.randrange(1, 9)}/changes?since={r.randrange(10**5)}")
    st(58, "D", "OkHttp", "<-- {} {}{} ({}ms, {} body)",
       lambda r: pick(r, [200] * 8 + [204, 304, 401, 503]),
       lambda r: Fixed("" if r.random() < 0.5 else " " + pick(r, ["OK", "OK", "Not Modified", "Service Unavailable"])),
       lambda r: Part(f" https://{pick(r, HOSTS[:2])}/v1/spaces/s{r.randrange(1, 9)}/changes", " <*>"),
       lambda r: r.randrange(20, 3000),
       lambda r: among(pick(r, [f"{r.randrange(1, 90)}.{r.randrange(10)}KB", f"{r.randrange(0, 900)}-byte", "unknown-length"]), {"unknown-length"}))
    st(30, "D", "OkHttp", "--> END {}", lambda r: word(pick(r, ["GET"] * 6 + ["POST", "PUT"])))
    st(20, "I", "SyncWorker", "sync started for space {} (trigger={})",
       lambda r: f"s{r.randrange(1, 9)}", lambda r: word(pick(r, ["periodic", "manual", "push", "connectivity"])))
    st(18, "I", "SyncWorker", "sync finished for space {} in {} ms: pulled {}, pushed {}, {} conflicts",
       lambda r: f"s{r.randrange(1, 9)}", ms, lambda r: r.randrange(0, 200), lambda r: r.randrange(0, 30), lambda r: r.randrange(0, 3))
    st(8, "W", "SyncWorker", "sync failed for space {}: {}",
       lambda r: f"s{r.randrange(1, 9)}", labelled(EXCEPTION_LABELS))
    st(10, "D", "SyncWorker", "pulled page {} of space {}: {} changes, cursor {}",
       lambda r: r.randrange(1, 6), lambda r: f"s{r.randrange(1, 9)}", lambda r: r.randrange(0, 100), lambda r: r.randrange(10**4, 10**6))
    st(12, "I", "WM-WorkerWrapper", "Worker result SUCCESS for Work [ id={}, tags={{ {} }} ]",
       uuid, lambda r: ", ".join(some(r, ["com.example.notes.sync.SyncWorker", "sync", "periodic", "expedited"], 1, 3)))
    st(5, "I", "WM-WorkerWrapper", "Worker result RETRY for Work [ id={}, tags={{ {} }} ]",
       uuid, lambda r: ", ".join(some(r, ["com.example.notes.sync.SyncWorker", "sync", "periodic"], 1, 3)))
    st(8, "D", "WM-Processor", "Processor: processing WorkGenerationalId(workSpecId={}, generation={})",
       uuid, lambda r: r.randrange(0, 3))
    st(6, "W", "SQLiteConnectionPool", "The connection pool for database '{}' has been unable to grant a connection to thread {} ({}) with flags 0x{} for {} seconds.",
       lambda r: f"/data/user/0/{pkg(r)}/databases/{pick(r, ['notes.db', 'cache.db', 'app.db'])}",
       lambda r: r.randrange(1, 9000),
       lambda r: pick(r, ["main", "DefaultDispatcher-worker-3", "AsyncTask #2", "arch_disk_io_1", "RxCachedThreadScheduler-4"]),
       lambda r: r.randrange(1, 9), lambda r: f"{r.randrange(1, 60)}.{r.randrange(1000):03d}")
    st(30, "D", "Glide", "Finished loading {} from {} for {} with size [{}x{}] in {} ms",
       lambda r: word(pick(r, ["BitmapDrawable", "BitmapDrawable", "GifDrawable", "TransitionDrawable"])),
       lambda r: word(pick(r, ["REMOTE", "DATA_DISK_CACHE", "MEMORY_CACHE", "RESOURCE_DISK_CACHE", "LOCAL"])),
       lambda r: f"https://{HOSTS[1]}/img/{r.randrange(10**6)}.jpg",
       lambda r: pick(r, [540, 1080, 256]), lambda r: pick(r, [960, 1920, 256]),
       lambda r: f"{r.randrange(0, 200)}.{r.randrange(10)}")
    st(7, "W", "Glide", "Load failed for {} with size [{}x{}]",
       lambda r: f"https://{HOSTS[1]}/img/{r.randrange(10**6)}.jpg", lambda r: pick(r, [540, 1080]), lambda r: pick(r, [960, 1920]))
    st(9, "D", "BluetoothGatt", "connect() - device: {}, auto: {}", lambda r: mac(r).upper(), lambda r: word(pick(r, ["false", "true"])))
    st(8, "I", "A2dpService", "setActiveDevice({}): connected to '{}'", lambda r: mac(r).upper(), lambda r: pick(r, BT_DEVICES))
    st(10, "I", "WifiClientModeImpl", "Connecting to \"{}\" networkId={} security={}",
       lambda r: pick(r, SSIDS), lambda r: r.randrange(0, 12), lambda r: word(pick(r, ["WPA2-PSK", "OPEN", "WPA3-SAE", "EAP"])))
    st(14, "I", "wpa_supplicant", "wlan0: CTRL-EVENT-CONNECTED - Connection to {} completed [id={} id_str={}]",
       mac, lambda r: r.randrange(0, 12), lambda r: "")
    st(9, "I", "wpa_supplicant", "wlan0: CTRL-EVENT-DISCONNECTED bssid={} reason={}{}",
       mac, lambda r: r.randrange(1, 16), lambda r: Fixed(pick(r, ["", " locally_generated=1"])))
    st(12, "D", "ConnectivityService", "Switching to new default network: {} ({})",
       lambda r: r.randrange(100, 400), lambda r: word(pick(r, ["WIFI", "MOBILE LTE", "MOBILE NR", "VPN"])))
    st(6, "W", "FirebaseMessaging", "Token retrieval failed: {}",
       lambda r: word(pick(r, ["SERVICE_NOT_AVAILABLE", "AUTHENTICATION_FAILED", "TOO_MANY_REGISTRATIONS"])))
    st(5, "I", "chromium", "[INFO:CONSOLE({})] \"{}\", source: {} ({})",
       lambda r: r.randrange(1, 900),
       fixed(["Uncaught TypeError: Cannot read properties of undefined (reading 'length')",
              "Service worker registered", "Mixed Content: The page was loaded over HTTPS",
              "ready", "[analytics] consent not given"]),
       lambda r: f"https://m.example.com/static/js/main.{hexid(r, 8)}.js", lambda r: r.randrange(1, 900))
    st(20, "I", "ViewRootImpl", "ViewPostIme pointer {}", lambda r: pick(r, [0, 1]))
    st(6, "D", "InputMethodManager", "showSoftInput() view={} flags={} reason={}",
       lambda r: f"androidx.appcompat.widget.AppCompatEditText{{{hexid(r)} VFED..CL. .F.P..ID 0,0-1080,{r.randrange(100, 300)} #7f0a{hexid(r, 4)} app:id/{pick(r, ['title', 'body', 'search'])}}}",
       lambda r: 0, lambda r: word(pick(r, ["SHOW_SOFT_INPUT", "SHOW_SOFT_INPUT_BY_INSETS_API"])))
    st(16, "I", "art", "Background concurrent copying GC freed {}({}) AllocSpace objects, {}({}) LOS objects, {}% free, {}/{}, paused {} total {}",
       lambda r: r.randrange(1000, 90000), lambda r: f"{r.randrange(1, 9)}MB", lambda r: r.randrange(0, 40),
       lambda r: f"{r.randrange(1, 900)}KB", lambda r: r.randrange(10, 60), lambda r: f"{r.randrange(10, 40)}MB",
       lambda r: f"{r.randrange(40, 80)}MB", lambda r: f"{r.randrange(20, 900)}us", lambda r: f"{r.randrange(1, 90)}.{r.randrange(1000):03d}ms")
    st(10, "I", "NotesRepository", "saved note {} ({} chars, {} tags): {}",
       lambda r: r.randrange(1, 9000), lambda r: r.randrange(1, 5000), lambda r: r.randrange(0, 6), lambda r: f"\"{pick(r, WORDS)}\"")
    st(7, "D", "SearchViewModel", "query \"{}\" returned {} results in {} ms",
       lambda r: pick(r, WORDS), lambda r: r.randrange(0, 40), ms)
    st(5, "I", "UserSession", "signed in as {} via {}",
       lambda r: pick(r, USERS + [f"{pick(r, USERS)}@example.com"]), lambda r: word(pick(r, ["password", "google", "magic-link"])))
    st(4, "I", "Preferences", "theme changed to {}", lambda r: word(pick(r, ["dark", "light", "system"])))
    st(5, "I", "ExoPlayerImpl", "Init {} [AndroidXMedia3/1.1.1] [{}]",
       lambda r: hexid(r), lambda r: ", ".join([pick(r, ["generic_x86", "oriole", "raven"]), pick(r, ["Pixel 6", "sdk_gphone_x86"]), "Google", str(r.randrange(29, 35))]))
    st(5, "I", "ExoPlayerImpl", "Release {} [AndroidXMedia3/1.1.1] [{}] [{}]",
       lambda r: hexid(r), lambda r: ", ".join([pick(r, ["generic_x86", "oriole"]), "Google", str(r.randrange(29, 35))]),
       lambda r: ", ".join(some(r, ["media3.common", "media3.exoplayer", "media3.decoder", "media3.ui", "media3.session"], 1, 5)))
    st(8, "W", "libc", "Access denied finding property \"{}\"",
       lambda r: pick(r, ["ro.vendor.camera.extensions.package", "vendor.debug.egl.swapinterval", "ro.hardware.chipname", "persist.vendor.display.mode"]))
    st(6, "E", "NotificationService", "Suppressing notification from package {} by user request.", pkg)
    st(4, "W", "NotificationService", "Cannot find enqueued record for key: 0|{}|{}|null|{}",
       pkg, lambda r: r.randrange(1, 9999), lambda r: r.randrange(10000, 10400))
    st(5, "I", "DownloadManager", "Download {} starting", lambda r: r.randrange(1, 900))
    st(4, "I", "DownloadManager", "Download {} finished with status {}", lambda r: r.randrange(1, 900), lambda r: word(pick(r, ["SUCCESSFUL", "SUCCESSFUL", "FAILED"])))
    st(3, "E", "AndroidRuntime", "FATAL EXCEPTION: {}", lambda r: pick(r, ["main", "DefaultDispatcher-worker-2", "WorkManager-WorkManagerTaskExecutor-thread-1"]))
    perm = lambda r: pick(r, ["android.permission.CAMERA", "android.permission.ACCESS_FINE_LOCATION", "android.permission.POST_NOTIFICATIONS"])
    st(4, "I", "PermissionMonitor", "permission {} granted to {}", perm, pkg)
    st(3, "I", "PermissionMonitor", "permission {} revoked from {}", perm, pkg)
    st(5, "D", "AudioManager", "dispatching onAudioFocusChange({}) to {}",
       lambda r: pick(r, [-1, -2, 1]), lambda r: f"android.media.AudioManager@{hexid(r)}{pick(r, ['', ' com.spotify.music.MediaService$1@' + hexid(r)])}")
    return S


# ---- system 2: a sync back end (HTTP API, workers, database) ----------------------

def sync_server():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    path = lambda r: pick(r, [f"/v1/spaces/{pick(r, ['team-notes', 'family', 'ops'])}/changes", f"/v1/spaces/{pick(r, ['team-notes', 'family'])}/mutations", "/health", "/metrics", f"/v1/users/{pick(r, USERS)}"])
    st(80, "INFO", "http", "request method={} path={} status={} duration={} bytes={} user={}",
       lambda r: word(pick(r, ["GET"] * 5 + ["POST", "POST", "DELETE"])), path,
       lambda r: pick(r, [200] * 9 + [201, 304, 404, 409, 413, 503]),
       lambda r: pick(r, [f"{r.randrange(1, 900)}ms", f"{r.randrange(1, 9)}.{r.randrange(100, 999)}s", f"{r.randrange(100, 999)}µs"]),
       lambda r: r.randrange(0, 10**6), lambda r: pick(r, USERS + ["-"]))
    st(30, "INFO", "auth", "user {} logged in from {} ({})", lambda r: pick(r, USERS), ip,
       lambda r: pick(r, ["Mozilla/5.0 (Linux; Android 14; Pixel 8)", "okhttp/4.12.0", "accord-android/0.3", "curl/8.5.0"]))
    st(9, "WARN", "auth", "login failed for user {} from {}: {}", lambda r: pick(r, USERS), ip,
       fixed(["bad password", "account locked", "unknown user", "token expired"]))
    st(22, "INFO", "sync", "space {}: applied {} mutations from device {} ({} conflicts)",
       lambda r: pick(r, ["team-notes", "family", "ops", "design"]), lambda r: r.randrange(1, 80),
       lambda r: pick(r, ["phone", "laptop", "tablet", f"dev-{hexid(r, 6)}"]), lambda r: r.randrange(0, 4))
    st(14, "INFO", "sync", "space {}: served {} changes since seq {} to device {}",
       lambda r: pick(r, ["team-notes", "family", "ops"]), lambda r: r.randrange(0, 500), lambda r: r.randrange(10**5),
       lambda r: pick(r, ["phone", "laptop", "tablet", f"dev-{hexid(r, 6)}"]))
    st(7, "WARN", "sync", "space {}: mutation {} rejected: base version {} is behind {}",
       lambda r: pick(r, ["team-notes", "family"]), uuid, lambda r: r.randrange(1, 90), lambda r: r.randrange(90, 200))
    st(18, "DEBUG", "db", "pool stats: {} open, {} idle, {} waiting",
       lambda r: r.randrange(1, 32), lambda r: r.randrange(0, 16), lambda r: r.randrange(0, 5))
    st(12, "INFO", "db", "slow query ({}): {}",
       lambda r: Part(f"{r.randrange(200, 9000)} ms", "<*> ms"),
       # The server's own statements, with their placeholders: text as printed (rule 5).
       labelled({q: q for q in ["SELECT * FROM changes WHERE space_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                                "UPDATE records SET data = $1, version = version + 1 WHERE id = $2 AND version = $3",
                                "INSERT INTO mutations (id, space_id, result) VALUES ($1, $2, $3)"]}))
    st(6, "ERROR", "db", "could not serialize access due to concurrent update (attempt {}/{}), retrying in {}",
       lambda r: r.randrange(1, 5), lambda r: 5, lambda r: Part(f"{r.randrange(5, 400)}ms", "<*>ms"))
    st(15, "INFO", "worker", "job {} started on queue {}",
       lambda r: pick(r, ["compact-space", "send-digest", "prune-tombstones", "reindex"]) + f"#{r.randrange(1000)}",
       lambda r: pick(r, ["default", "low", "critical"]))
    st(13, "INFO", "worker", "job {} finished in {}",
       lambda r: pick(r, ["compact-space", "send-digest", "prune-tombstones", "reindex"]) + f"#{r.randrange(1000)}",
       lambda r: pick(r, [f"{r.randrange(1, 900)}ms", f"{r.randrange(1, 60)}.{r.randrange(10)}s", f"{r.randrange(1, 9)}m{r.randrange(60)}s"]))
    st(5, "ERROR", "worker", "job {} failed: {}",
       lambda r: pick(r, ["compact-space", "send-digest", "reindex"]) + f"#{r.randrange(1000)}",
       lambda r: Fixed(pick(r, ["context deadline exceeded", "connection reset by peer", "disk quota exceeded", f"exit status {r.randrange(1, 3)}"])))
    st(6, "WARN", "worker", "job {} retrying in {} (attempt {} of {})",
       lambda r: pick(r, ["send-digest", "reindex"]) + f"#{r.randrange(1000)}", lambda r: Part(f"{r.randrange(1, 60)}s", "<*>s"),
       lambda r: r.randrange(1, 5), lambda r: 5)
    st(9, "INFO", "proxy", "upstream {} is healthy", lambda r: pick(r, SERVICES))
    st(4, "WARN", "proxy", "upstream {} is unhealthy: {} of {} checks failed", lambda r: pick(r, SERVICES), lambda r: r.randrange(1, 4), lambda r: 3)
    st(9, "WARN", "proxy", "upstream {} timed out after {} ({} of {} backends left)",
       lambda r: pick(r, SERVICES), lambda r: Part(f"{r.randrange(1, 30)}s", "<*>s"), lambda r: r.randrange(0, 4), lambda r: 4)
    key = lambda r: pick(r, [f"user:{pick(r, USERS)}", f"space:{pick(r, ['team-notes', 'family'])}:head", f"token:{hexid(r, 12)}"])
    st(7, "DEBUG", "cache", "cache hit for key {}", key)
    st(4, "DEBUG", "cache", "cache miss for key {}", key)
    st(7, "INFO", "cache", "evicted {} keys ({}) from {}", lambda r: r.randrange(1, 5000), size,
       lambda r: word(pick(r, ["sessions", "heads", "tokens"])))
    st(8, "INFO", "mailer", "sent {} to {} <{}>", lambda r: word(pick(r, ["digest", "invite", "password-reset"])),
       lambda r: pick(r, ["Alice Liddell", "Bob", "Carol Danvers", "Dave", "Erin O'Neil"]), lambda r: f"{pick(r, USERS)}@example.com")
    st(5, "ERROR", "mailer", "delivery to {} deferred: {}", lambda r: f"{pick(r, USERS)}@example.org",
       # The remote server's replies are values; the mailer's own error is text (rule 5).
       labelled({"451 4.7.1 Greylisted, try again later": "<*>", "421 too many connections": "<*>",
                 "connection timed out": "connection timed out"}))
    st(9, "INFO", "server", "listening on {}", lambda r: pick(r, [f"{ip(r)}:{r.choice([8080, 8443])}", "[::]:8080", "unix:/run/accord.sock"]))
    st(6, "INFO", "server", "shutting down: {}", fixed(["SIGTERM received", "SIGINT received", "drain requested by admin"]))
    st(8, "INFO", "config", "loaded {} from {} ({} keys, {} overrides)", lambda r: pick(r, ["server.toml", "limits.toml"]),
       lambda r: pick(r, ["/etc/accord", "/opt/accord/conf", "./config"]), lambda r: r.randrange(5, 80), lambda r: r.randrange(0, 5))
    st(7, "WARN", "ratelimit", "client {} exceeded {} requests in {} on {}", ip,
       lambda r: pick(r, [100, 200, 50]), lambda r: Part(pick(r, ["1s", "60s", "10s"]), "<*>s"), path)
    st(6, "INFO", "tls", "certificate for {} renewed, expires {}", lambda r: pick(r, ["sync.example.com", "api.example.com", "example.com"]),
       lambda r: f"{pick(r, ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])} {pick(r, ['Jan', 'Feb', 'Mar', 'Apr'])} {r.randrange(1, 29)} {r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d} UTC 2025")
    st(7, "INFO", "metrics", "flushed {} series to {} in {}", lambda r: r.randrange(10, 900),
       lambda r: word(pick(r, ["prometheus", "statsd", "otel-collector"])), lambda r: Part(f"{r.randrange(1, 400)}ms", "<*>ms"))
    st(5, "INFO", "replication", "replica {} lag {} ({} behind)", lambda r: pick(r, ["db-replica", "db-replica-eu", "standby"]),
       lambda r: Part(f"{r.randrange(0, 9000)}ms", "<*>ms"), size)
    st(4, "WARN", "replication", "replica {} is not streaming, state {}", lambda r: pick(r, ["db-replica", "standby"]),
       lambda r: word(pick(r, ["catchup", "backup", "stopping"])))
    st(5, "INFO", "admin", "user {} granted {} on space {}", lambda r: pick(r, USERS), lambda r: word(pick(r, ["read", "write", "admin"])),
       lambda r: pick(r, ["team-notes", "family", "ops"]))
    st(4, "INFO", "admin", "user {} revoked from space {}", lambda r: pick(r, USERS), lambda r: pick(r, ["team-notes", "family", "ops"]))
    return S


# ---- system 3: a Linux desktop's daemons (network, bluetooth, power, updates) ------

def desktop_daemons():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    iface = lambda r: pick(r, ["wlp2s0", "enp0s31f6", "wlan0", "tun0"])
    st(30, "info", "NetworkManager", "<info>  [{}] device ({}): state change: {} -> {} (reason '{}', sys-iface-state: '{}')",
       lambda r: f"{r.randrange(1700000000, 1700900000)}.{r.randrange(1000):04d}", iface,
       lambda r: word(pick(r, ["disconnected", "prepare", "config", "need-auth", "ip-config", "ip-check", "secondaries", "activated"])),
       lambda r: word(pick(r, ["prepare", "config", "ip-config", "ip-check", "secondaries", "activated", "deactivating"])),
       lambda r: word(pick(r, ["none", "none", "supplicant-disconnect", "user-requested", "carrier-changed"])),
       lambda r: word(pick(r, ["managed", "external"])))
    st(16, "info", "NetworkManager", "<info>  [{}] dhcp4 ({}): option {} => '{}'",
       lambda r: f"{r.randrange(1700000000, 1700900000)}.{r.randrange(1000):04d}", iface,
       lambda r: word(pick(r, ["domain_name_servers", "expiry", "host_name", "ip_address", "routers", "subnet_mask", "domain_name"])),
       lambda r: pick(r, [ip(r), f"{ip(r)} {ip(r)}", "lan", "fritz.box", str(r.randrange(10**9)), "255.255.255.0", "home"]))
    st(10, "info", "NetworkManager", "<info>  [{}] policy: set '{}' ({}) as default for IPv{} routing and DNS",
       lambda r: f"{r.randrange(1700000000, 1700900000)}.{r.randrange(1000):04d}", lambda r: pick(r, SSIDS + ["Wired connection 1"]), iface,
       lambda r: word(pick(r, [4, 6])))
    st(20, "info", "wpa_supplicant", "{}: CTRL-EVENT-SIGNAL-CHANGE above={} signal={} noise={} txrate={}",
       iface, lambda r: pick(r, [0, 1]), lambda r: -r.randrange(30, 90), lambda r: pick(r, [-92, 9999]), lambda r: r.randrange(6000, 866000))
    st(12, "info", "wpa_supplicant", "{}: SME: Trying to authenticate with {} (SSID='{}' freq={} MHz)",
       iface, mac, lambda r: pick(r, SSIDS), lambda r: pick(r, [2412, 2437, 5180, 5500]))
    st(14, "info", "bluetoothd", "Endpoint registered: sender={} path={}",
       lambda r: f":1.{r.randrange(20, 200)}", lambda r: pick(r, ["/MediaEndpoint/A2DPSink/sbc", "/MediaEndpoint/A2DPSource/aac", "/MediaEndpoint/BAPSink"]))
    st(9, "info", "bluetoothd", "Device {} ({}) connected, profiles: {}",
       lambda r: mac(r).upper(), lambda r: pick(r, BT_DEVICES),
       lambda r: " ".join(some(r, ["a2dp-sink", "avrcp", "hfp-hf", "hsp-hs", "battery"], 1, 4)))
    st(6, "err", "bluetoothd", "{}: {}() Unable to get connect data for {}: getpeername: {}",
       lambda r: word(pick(r, ["src/profile.c", "profiles/audio/avdtp.c"])), lambda r: word(pick(r, ["ext_connect", "session_cb"])),
       lambda r: word(pick(r, ["Headset Voice gateway", "Hands-Free Voice gateway", "Audio Source"])),
       fixed(["Transport endpoint is not connected (107)", "Connection refused (111)"]))
    st(18, "info", "systemd", "Started {}.", labelled({u: u for u in ["Session 3 of User alice", "Daily apt download activities",
                                                   "Cleanup of Temporary Directories", "Network Manager Script Dispatcher Service",
                                                   "Locale Service", "Hostname Service", "Time & Date Service"]}
                                                  | {"Session 3 of User alice": "Session <*> of User <*>"}))
    st(10, "info", "systemd", "{}: Deactivated successfully.", lambda r: pick(r, ["NetworkManager-dispatcher.service", "systemd-localed.service",
                                                                              "fwupd.service", "packagekit.service", "session-3.scope"]))
    st(8, "info", "systemd", "{}: Consumed {} CPU time.", lambda r: pick(r, ["fwupd.service", "packagekit.service", "session-3.scope", "snapd.service"]),
       lambda r: pick(r, [f"{r.randrange(1, 900)}ms", f"{r.randrange(1, 59)}.{r.randrange(1000):03d}s", f"{r.randrange(1, 9)}min {r.randrange(60)}.{r.randrange(1000):03d}s"]))
    st(7, "info", "upowerd", "battery {}: {}% ({}), {} remaining",
       lambda r: pick(r, ["BAT0", "BAT1"]), lambda r: r.randrange(1, 101),
       lambda r: word(pick(r, ["discharging", "charging", "fully-charged", "pending-charge"])),
       lambda r: among(pick(r, [f"{r.randrange(1, 9)}h {r.randrange(60)}min", f"{r.randrange(1, 60)}min", "unknown"]), {"unknown"}))
    st(6, "warning", "kernel", "usb {}-{}: device descriptor read/{}, error {}",
       lambda r: r.randrange(1, 4), lambda r: r.randrange(1, 8), lambda r: word(pick(r, ["64", "8", "all"])), lambda r: pick(r, [-71, -110, -32]))
    st(8, "info", "kernel", "usb {}-{}: new {} USB device number {} using {}",
       lambda r: r.randrange(1, 4), lambda r: r.randrange(1, 8), lambda r: word(pick(r, ["full-speed", "high-speed", "SuperSpeed"])),
       lambda r: r.randrange(2, 40), lambda r: word(pick(r, ["xhci_hcd", "ehci-pci"])))
    st(7, "info", "kernel", "input: {} as {}", lambda r: pick(r, ["Logitech MX Master 3", "AT Translated Set 2 keyboard", "Pixel Buds Pro (AVRCP)", "Video Bus"]),
       lambda r: f"/devices/pci0000:00/0000:00:14.0/usb1/1-{r.randrange(1, 8)}/input/input{r.randrange(5, 40)}")
    st(9, "info", "fwupd", "Emitting PropertyChanged('{}'='{}')", lambda r: word(pick(r, ["Status", "Percentage"])),
       lambda r: among(pick(r, ["idle", "loading", "decompressing", str(r.randrange(0, 101))]), {"idle", "loading", "decompressing"}))
    st(7, "info", "packagekitd", "{} transaction /{}_{} from uid {} finished with {} after {}ms",
       lambda r: word(pick(r, ["get-updates", "refresh-cache", "get-details", "resolve"])), lambda r: r.randrange(10, 900), hexid,
       lambda r: pick(r, [1000, 0]), lambda r: word(pick(r, ["success", "success", "failed", "cancelled"])), lambda r: r.randrange(10, 90000))
    st(8, "info", "gnome-shell", "Window manager warning: {}",
       labelled({"Overwriting existing binding of keysym 31 with keysym 31 (keycode a).":
                 "Overwriting existing binding of keysym <*> with keysym <*> (keycode <*>).",
                 "Buggy client sent a _NET_ACTIVE_WINDOW message with a timestamp of 0 for 0x3e00003":
                 "Buggy client sent a _NET_ACTIVE_WINDOW message with a timestamp of <*> for <*>",
                 "last_user_time (928) is greater than comparison timestamp (927).  This most likely represents a buggy client sending inaccurate timestamps in messages such as _NET_ACTIVE_WINDOW.  Trying to work around...":
                 "last_user_time (<*>) is greater than comparison timestamp (<*>).  This most likely represents a buggy client sending inaccurate timestamps in messages such as _NET_ACTIVE_WINDOW.  Trying to work around..."}))
    st(7, "info", "CRON", "({}) CMD ({})", lambda r: pick(r, ["root", "alice", "backup"]),
       labelled({"command -v debian-sa1 > /dev/null && debian-sa1 1 1": "command -v debian-sa1 > /dev/null && debian-sa1 <*> <*>",
                 "cd / && run-parts --report /etc/cron.hourly": "cd / && run-parts --report /etc/cron.hourly",
                 "/usr/local/bin/backup.sh --quiet": "/usr/local/bin/backup.sh --quiet"}))
    st(5, "info", "sshd", "Accepted publickey for {} from {} port {} ssh2: {}",
       lambda r: pick(r, USERS), ip, lambda r: r.randrange(1024, 65535), lambda r: (lambda k: Part(k, k.split()[0] + " SHA256:<*>"))(pick(r, [f"ED25519 SHA256:{hexid(r, 20)}", f"RSA SHA256:{hexid(r, 20)}"])))
    st(3, "info", "sshd", "Accepted password for {} from {} port {} ssh2",
       lambda r: pick(r, USERS), ip, lambda r: r.randrange(1024, 65535))
    st(5, "info", "dbus-daemon", "[session uid={} pid={}] Activating service name='{}' requested by ':1.{}' (uid={} pid={} comm=\"{}\")",
       lambda r: 1000, lambda r: r.randrange(900, 9000), lambda r: pick(r, ["org.gnome.Nautilus", "org.freedesktop.FileManager1", "ca.desrt.dconf", "org.gtk.vfs.Metadata"]),
       lambda r: r.randrange(20, 200), lambda r: 1000, lambda r: r.randrange(900, 9000), lambda r: pick(r, ["gnome-shell", "nautilus", "firefox", "code"]))
    st(5, "info", "dbus-daemon", "[session uid={} pid={}] Successfully activated service '{}'",
       lambda r: 1000, lambda r: r.randrange(900, 9000), lambda r: pick(r, ["org.gnome.Nautilus", "org.freedesktop.FileManager1", "ca.desrt.dconf"]))
    st(4, "warning", "pulseaudio", "[{}] {}: {}", lambda r: pick(r, ["pulseaudio", "alsa-sink-ALC", "bluetooth"]),
       lambda r: word(pick(r, ["module-bluez5-device.c", "alsa-sink.c", "backend-native.c"])),
       fixed(["Default profile not connected, selecting off profile", "ALSA woke us up to write new data to the device, but there was actually nothing to write.", "RFCOMM write error: Connection reset by peer"]))
    st(5, "info", "snapd", "storehelpers.go:{}: cannot refresh: snap has no updates available: \"{}\"",
       lambda r: r.randrange(700, 900), lambda r: "\", \"".join(some(r, ["core22", "firefox", "gnome-42-2204", "snapd", "gtk-common-themes"], 1, 5)))
    return S


# The value of a `key=value` field: the characters after `=` up to a space, comma,
# semicolon, closing bracket or quote (a bracketed value keeps its brackets).
KEY_VALUE = re.compile(r"(?<=[A-Za-z0-9_\])]=)(?![\[({])[^\s,;)\]}\"']+")

# `true`, `false` and `null` standing as words.
LITERAL = re.compile(r"(?<![\w-])(?:true|false|null)(?![\w-])")


def write(name, statements, seed):
    r = random.Random(seed)
    # Each statement's own weight (written to be what such a log shows: request lines
    # by the hundred, a crash once or twice), varied by up to half either way.
    weights = [w * r.uniform(0.5, 1.5) for (w, *_rest) in statements]
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    rows = []
    raw = []
    ids = {}
    t = 0
    for n in range(LINES):
        i = r.choices(range(len(statements)), weights)[0]
        _, level, tag, fmt, gens = statements[i]
        values = [g(r) for g in gens]
        message = fmt.format(*[str(v) for v in values])
        pieces = [v.template() if isinstance(v, (Fixed, Part)) else "<*>" for v in values]
        # What follows `key=` is a value, whatever it holds (LABELLING.md, rule 3), and
        # so is a boolean or null (rule 2).
        template = LITERAL.sub("<*>", KEY_VALUE.sub("<*>", fmt.format(*pieces)))
        # A template is its text (rule 1): lines with the same text share an id.
        ids.setdefault(template, len(ids) + 1)
        t += r.randrange(1, 4000)
        stamp = f"2025-03-{1 + t // 86_400_000:02d} {t // 3_600_000 % 24:02d}:{t // 60_000 % 60:02d}:{t // 1000 % 60:02d}.{t % 1000:03d}"
        raw.append(f"{stamp} {level} {tag}: {message}")
        rows.append((n + 1, stamp, level, tag, message, f"E{ids[template]}", template))
    with open(os.path.join(folder, f"{name}_2k.log"), "w") as f:
        f.write("\n".join(raw) + "\n")
    import csv
    with open(os.path.join(folder, f"{name}_2k.log_structured_corrected.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["LineId", "Time", "Level", "Component", "Content", "EventId", "EventTemplate"])
        w.writerows(rows)


def main():
    write("AppLogcat", app_logcat(), 12)
    write("SyncServer", sync_server(), 13)
    write("DesktopDaemons", desktop_daemons(), 14)


if __name__ == "__main__":
    main()
