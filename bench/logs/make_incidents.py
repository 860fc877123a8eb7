#!/usr/bin/env python3
"""Writes the incident fixtures: ten-minute logcat windows of a notes app with one known
failure each, buried in ordinary noise (UI, network, GC, analytics) and in errors that
recur all the time and have nothing to do with it (ads, play services).

    python3 bench/logs/make_incidents.py [OUT_DIR]

OUT_DIR defaults to crates/accord-bench/tests/fixtures/incidents. The output is deterministic
(fixed seeds) and committed; rerun only to change the scenarios below. causes.tsv lists,
per incident, phrases any of which a root-cause paragraph must use for the cause (near
its first citation) to count as naming it.

Three incidents are hard on purpose: the first new error is a symptom (clock skew breaks
TLS) or an unrelated one-off comes first (migration, out of memory), so a summary that
just names the first new error gets them wrong.

The first eight are the development half: the summaries were written and tuned on them.
The other eight (causes.tsv says `test`) were added with issue 12 and are never used to
change a summary; figures are reported for each half. Several of them are hard the same
way: the cause is a warning or an info line before the first error (captive portal,
standby bucket, main-thread sync), or its lines are outnumbered by a noisy service.
"""
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "crates/accord-bench/tests/fixtures/incidents")
APP_PID = 4242


def noise(rng, t):
    """One ordinary line at time t (seconds): (level, tag, message)."""
    k = rng.randrange(100)
    note = rng.randrange(1, 9000)
    if k < 14:
        return "I", "Choreographer", f"Skipped {rng.randrange(30, 90)} frames!  The application may be doing too much work on its main thread."
    if k < 26:
        return "D", "NotesList", f"bind note {note} at position {rng.randrange(0, 40)}"
    if k < 36:
        page = rng.randrange(1, 6)
        return "I", "OkHttp", f"--> GET https://api.example.com/v1/spaces/s{rng.randrange(1, 4)}/changes?since={rng.randrange(1000, 9000)}&limit=100 page={page}"
    if k < 46:
        return "I", "OkHttp", f"<-- 200 OK https://api.example.com/v1/spaces/s{rng.randrange(1, 4)}/changes ({rng.randrange(40, 400)}ms, {rng.randrange(1, 90)}.{rng.randrange(10)}KB body)"
    if k < 54:
        return "D", "SyncWorker", f"pulled page {rng.randrange(1, 6)}: {rng.randrange(0, 100)} changes, cursor {rng.randrange(1000, 9000)}"
    if k < 62:
        used = rng.randrange(18, 30)
        return "I", "art", f"Background concurrent copying GC freed {rng.randrange(10000, 90000)}({rng.randrange(1, 9)}MB) AllocSpace objects, {rng.randrange(10, 40)}% free, {used}MB/{used + 6}MB, paused {rng.randrange(50, 900)}us total {rng.randrange(10, 90)}.{rng.randrange(100, 999)}ms"
    if k < 70:
        return "D", "Analytics", f"event screen_view name={rng.choice(['NoteList', 'NoteEditor', 'Settings', 'Search'])} session={rng.randrange(100, 999)}"
    if k < 76:
        return "V", "RenderThread", f"frame {rng.randrange(10000, 99999)} drawn in {rng.randrange(3, 16)}.{rng.randrange(10)}ms"
    if k < 81:
        return "D", "ConnectivityMonitor", f"network available: wifi, metered=false, rssi=-{rng.randrange(40, 80)}"
    if k < 86:
        return "I", "NoteEditor", f"autosave note {note}: {rng.randrange(1, 4000)} chars"
    if k < 90:
        return "D", "BatteryStats", f"level={rng.randrange(20, 100)} plugged={rng.choice(['false', 'false', 'usb'])} temp={rng.randrange(250, 390)}"
    if k < 94:
        return "W", "ResourceType", "No package identifier when getting value for resource number 0x00000000"
    if k < 97:
        return "E", "AdLoader", f"Ad failed to load: 3 (No fill) unit=banner_{rng.randrange(1, 4)}"
    return "E", "GoogleApiManager", "Failed to get service from broker.  java.lang.SecurityException: Unknown calling package name 'com.google.android.gms'."


def window(name, events, seed, start="03-21 09:00:00"):
    """Noise for ten minutes plus `events` [(second, level, tag, message)], as logcat."""
    rng = random.Random(seed)
    lines = []
    t = 0.0
    while t < 600:
        lines.append((t,) + noise(rng, t))
        t += rng.uniform(0.3, 3.0)
    for (sec, level, tag, msg) in events:
        lines.append((sec + rng.uniform(0, 0.2), level, tag, msg))
    lines.sort(key=lambda x: x[0])
    out = []
    base_h, base_m = 9, 0
    for (sec, level, tag, msg) in lines:
        total_ms = int(sec * 1000)
        s, ms = divmod(total_ms, 1000)
        m, s = divmod(s, 60)
        tid = APP_PID if tag in ("NotesList", "NoteEditor", "Choreographer") else APP_PID + 7 + len(tag) % 5
        out.append(f"{start[:5]} {base_h:02d}:{base_m + m:02d}:{s:02d}.{ms:03d}  {APP_PID}  {tid} {level} {tag}: {msg}")
    with open(os.path.join(OUT, f"{name}.log"), "w") as f:
        f.write("\n".join(out) + "\n")


def repeat(first, every, count, level, tag, make):
    return [(first + i * every, level, tag, make(i)) for i in range(count)]


def main():
    os.makedirs(OUT, exist_ok=True)
    incidents = []

    # 1. Storage fills up: a warning, then every write fails.
    ev = [(301, "W", "StorageMonitor", "low storage: 11 MB free on /data, threshold 50 MB")]
    ev += repeat(305, 17, 14, "E", "SQLiteLog", lambda i: f"(13) statement aborts at 41: [INSERT INTO notes(id,title,body,updated) VALUES(?,?,?,?)] database or disk is full")
    ev += repeat(305.1, 17, 14, "E", "NotesRepository", lambda i: f"save failed for note {7100 + i * 3}: android.database.sqlite.SQLiteFullException: database or disk is full (code 13 SQLITE_FULL)")
    ev += repeat(340, 60, 5, "E", "SyncWorker", lambda i: f"pull failed after page {i + 2}: could not store changes locally")
    ev += repeat(341, 60, 5, "W", "WM-WorkerWrapper", lambda i: f"Worker result RETRY for Work [ id=8c1f{i}e2a-55aa-4d6e-9c1b-{i}0a3b6f9d2c1, tags={{ SyncWorker }} ]")
    incidents.append(("disk_full", ev, ["disk is full", "disk full", "full disk", "no space", "storage", "SQLITE_FULL"], "storage ran out; writes and sync failed"))

    # 2. The refresh token expired: refresh fails, then every request is 401.
    ev = [(250, "I", "AuthRepository", "access token expires in 0s, refreshing")]
    ev += [(250.4, "E", "AuthRepository", "token refresh failed: HTTP 400 invalid_grant: refresh token expired (issued 2024-02-19)")]
    ev += repeat(252, 11, 25, "E", "SyncWorker", lambda i: f"push of {1 + i % 4} mutations failed: HTTP 401 Unauthorized")
    ev += repeat(253, 45, 8, "W", "OkHttp", lambda i: "<-- 401 Unauthorized https://api.example.com/v1/spaces/s1/mutations (58ms, 0-byte body)")
    incidents.append(("token_expired", ev, ["refresh token", "invalid_grant", "token expired", "expired token", "token refresh"], "the refresh token expired; every request was rejected"))

    # 3. DNS stops resolving after a network change.
    ev = [(180, "D", "ConnectivityMonitor", "network changed: wifi -> cellular, validated=false")]
    ev += repeat(181, 9, 30, "E", "SyncWorker", lambda i: "pull failed: java.net.UnknownHostException: Unable to resolve host \"api.example.com\": No address associated with hostname")
    ev += repeat(185, 23, 10, "E", "ImageLoader", lambda i: f"load failed for https://cdn.example.com/a/{9000 + i}.jpg: Unable to resolve host \"cdn.example.com\"")
    incidents.append(("dns_failure", ev, ["resolve host", "unknownhost", "dns", "no address associated"], "host names stopped resolving after switching to cellular"))

    # 4. The device clock is days behind: TLS rejects the server's certificate.
    ev = [(120, "W", "TimeSync", "device clock differs from network time by -3d 04:12:09; automatic time is off")]
    ev += repeat(124, 13, 30, "E", "OkHttp", lambda i: "SSLHandshakeException: Chain validation failed: java.security.cert.CertificateNotYetValidException: Certificate not valid until Sat Mar 23 11:20:31 GMT 2024")
    ev += repeat(125, 13, 30, "E", "SyncWorker", lambda i: "pull failed: javax.net.ssl.SSLHandshakeException: Chain validation failed")
    incidents.append(("clock_skew", ev, ["clock", "time is off", "network time", "automatic time"], "the device clock was three days behind, so certificates looked not yet valid"))

    # 5. A schema migration was skipped after an update; an unrelated analytics upload
    #    failed once just before.
    ev = [(200, "I", "App", "upgraded from 3.1.4 (code 314) to 3.2.0 (code 320)")]
    ev += [(203, "E", "AnalyticsUploader", "batch upload failed: HTTP 503 from https://stats.example.com/v2/batch, will retry")]
    ev += [(206, "W", "NotesDb", "schema version 7 found, expected 8; migration 7->8 not registered")]
    ev += repeat(207, 8, 40, "E", "SQLiteLog", lambda i: "(1) no such column: archived in \"SELECT id,title,updated FROM notes WHERE archived=0 ORDER BY updated DESC\"")
    ev += repeat(207.2, 8, 40, "E", "NoteListViewModel", lambda i: "load failed: android.database.sqlite.SQLiteException: no such column: archived (code 1 SQLITE_ERROR)")
    incidents.append(("missing_migration", ev, ["migration", "no such column", "schema version"], "the 7->8 schema migration was not registered, so queries used a missing column"))

    # 6. The location permission was revoked while tracking ran.
    ev = [(330, "I", "PermissionMonitor", "permission android.permission.ACCESS_FINE_LOCATION changed: granted -> denied")]
    ev += repeat(332, 20, 12, "E", "LocationTracker", lambda i: "requestLocationUpdates failed: java.lang.SecurityException: uid 10245 does not have android.permission.ACCESS_FINE_LOCATION")
    ev += [(575, "F", "AndroidRuntime", "FATAL EXCEPTION: LocationThread Process: com.example.notes, PID: 4242 java.lang.SecurityException: uid 10245 does not have android.permission.ACCESS_FINE_LOCATION")]
    incidents.append(("permission_revoked", ev, ["permission", "securityexception"], "the user revoked the location permission"))

    # 7. Memory runs out decoding large attachments; a one-off unrelated error first.
    ev = [(150, "E", "PlayCore", "requestInAppReview failed: -1 (API not available)")]
    ev += repeat(160, 30, 12, "W", "ImageCache", lambda i: f"cache at {400 + i * 9} MB exceeds budget 256 MB; trimming")
    ev += repeat(410, 6, 8, "E", "AttachmentView", lambda i: f"decode failed for attachment {5500 + i}: java.lang.OutOfMemoryError: Failed to allocate a {60000000 + i * 1000} byte allocation with 12582912 free bytes and 12MB until OOM")
    ev += [(460, "F", "AndroidRuntime", "FATAL EXCEPTION: main Process: com.example.notes, PID: 4242 java.lang.OutOfMemoryError: Failed to allocate a 63701004 byte allocation with 1048576 free bytes")]
    incidents.append(("out_of_memory", ev, ["outofmemory", "out of memory", "failed to allocate", "memory", "cache"], "large attachments exhausted the heap"))

    # 8. The sync server is down (503s), uploads back off.
    ev = repeat(280, 10, 30, "W", "OkHttp", lambda i: "<-- 503 Service Unavailable https://api.example.com/v1/spaces/s2/changes (1203ms, 91-byte body)")
    ev += repeat(280.1, 10, 30, "E", "SyncWorker", lambda i: f"pull failed: server error 503 Service Unavailable, retry {i + 1} in {min(2 ** i, 300)}s")
    incidents.append(("server_outage", ev, ["503", "service unavailable", "server"], "the sync server answered 503 for five minutes"))

    # The test half: written after the summaries were last changed, and never used to
    # change them. Each adds a service or two of its own to the noise.

    # 9. A background export holds the database's write lock; every sync write waits
    #    and fails. The exporter's progress lines outnumber everything else.
    ev = repeat(200, 3, 120, "D", "ExportWorker", lambda i: f"exported {i * 25} of 3000 notes to /sdcard/Download/notes-export.zip")
    ev += [(199, "I", "ExportWorker", "export started: 3000 notes, BEGIN EXCLUSIVE")]
    ev += repeat(215, 14, 22, "E", "SQLiteDatabase", lambda i: "android.database.sqlite.SQLiteDatabaseLockedException: database is locked (code 5 SQLITE_BUSY): , while compiling: INSERT INTO changes")
    ev += repeat(215.3, 14, 22, "E", "SyncWorker", lambda i: f"pull failed after page {1 + i % 3}: could not store changes locally")
    incidents.append(("database_locked", ev, ["database is locked", "locked", "sqlite_busy", "begin exclusive"], "a background export held the database's write lock, so every sync write failed"))

    # 10. The server's certificate was rotated and the app pins the old key.
    ev = [(150, "I", "CertificateUpdater", "server certificate for api.example.com changed: new SPKI sha256/Qm9vZ...")]
    ev += repeat(152, 9, 45, "E", "OkHttp", lambda i: "javax.net.ssl.SSLPeerUnverifiedException: Certificate pinning failure! Peer certificate chain: sha256/Qm9vZ...: CN=api.example.com Pinned certificates for api.example.com: sha256/AAAA...")
    ev += repeat(152.2, 18, 22, "E", "SyncWorker", lambda i: "push failed: javax.net.ssl.SSLPeerUnverifiedException")
    incidents.append(("certificate_pin", ev, ["pinning", "pinned", "certificate pin", "peerunverified"], "the server certificate was rotated and the app still pinned the old key"))

    # 11. Battery saver puts the app in the restricted standby bucket; WorkManager stops
    #     the sync job before it finishes, over and over. No error is logged by the cause
    #     itself; the errors are the user-visible symptom.
    ev = [(100, "I", "AppStandbyController", "app com.example.notes bucket changed from ACTIVE to RESTRICTED, reason: battery saver")]
    ev += repeat(120, 40, 12, "W", "WM-WorkerWrapper", lambda i: f"Work [ id=5d1c{i}a90-7e2b-4c1d-9f00-{i}b2c3d4e5f6a, tags={{ SyncWorker }} ] was cancelled: STOP_REASON_APP_STANDBY")
    ev += repeat(121, 40, 12, "E", "SyncWorker", lambda i: f"sync interrupted after {3 + i % 5}s, {40 + i} mutations still queued")
    ev += repeat(122, 80, 6, "E", "NotesList", lambda i: "unsynced changes older than 15 minutes, showing warning banner")
    incidents.append(("standby_bucket", ev, ["standby", "restricted", "battery saver", "bucket"], "battery saver put the app in the restricted standby bucket, so the system kept stopping sync"))

    # 12. One attachment is larger than the server accepts: its upload is refused with
    #     413 and retried forever, blocking the queue behind it.
    ev = [(240, "I", "AttachmentUploader", "queued attachment 88123 (video/mp4, 187 MB)")]
    ev += repeat(245, 20, 18, "E", "AttachmentUploader", lambda i: "upload of attachment 88123 failed: HTTP 413 Payload Too Large (limit 100 MB), retrying")
    ev += repeat(246, 20, 18, "W", "SyncWorker", lambda i: f"push blocked behind attachment 88123, {12 + i} mutations waiting")
    incidents.append(("payload_too_large", ev, ["413", "too large", "payload", "limit"], "one attachment was larger than the server accepts; its upload was refused and retried forever"))

    # 13. The server was upgraded and rejects the app's old protocol field.
    ev = [(300, "I", "VersionCheck", "server version 2.0.0, app protocol 1")]
    ev += repeat(303, 10, 28, "E", "SyncWorker", lambda i: f"push of {1 + i % 6} mutations failed: HTTP 400 Bad Request: unknown field `base_version` in mutation 0")
    ev += repeat(304, 30, 10, "W", "OkHttp", lambda i: "<-- 400 Bad Request https://api.example.com/v1/spaces/s1/mutations (41ms, 88-byte body)")
    incidents.append(("protocol_mismatch", ev, ["unknown field", "protocol", "400 bad request", "server version"], "the server was upgraded and rejected a field of the app's old protocol"))

    # 14. A captive portal on hotel wifi answers every request with its login page; the
    #     first new error is the JSON parser's, the cause is the warning before it.
    ev = [(260, "W", "NetworkMonitor", "network 103 (wifi \"Hotel Guest\") is a captive portal; sign-in required")]
    ev += repeat(262, 8, 35, "E", "SyncWorker", lambda i: "pull failed: com.squareup.moshi.JsonEncodingException: Use JsonReader.setLenient(true) to accept malformed JSON at path $")
    ev += repeat(263, 25, 12, "E", "ImageLoader", lambda i: f"decode failed for https://cdn.example.com/a/{7000 + i}.jpg: unexpected content-type text/html")
    incidents.append(("captive_portal", ev, ["captive portal", "sign-in required", "portal"], "a hotel wifi captive portal answered every request with its login page"))

    # 15. Syncing on the main thread freezes the UI until the system reports an ANR.
    ev = [(400, "D", "StrictMode", "StrictMode policy violation; ~duration=4130 ms: android.os.strictmode.DiskReadViolation at com.example.notes.sync.SyncRepository.applyPage")]
    ev += repeat(401, 2, 20, "I", "Choreographer", lambda i: f"Skipped {200 + i * 7} frames!  The application may be doing too much work on its main thread.")
    ev += [(446, "E", "ActivityManager", "ANR in com.example.notes (com.example.notes/.MainActivity) Reason: Input dispatching timed out (Waiting to send non-key event because the touched window has not finished processing certain input events)")]
    ev += repeat(447, 30, 5, "E", "NotesList", lambda i: "render of note list took 5200 ms")
    incidents.append(("main_thread_sync", ev, ["main thread", "anr", "input dispatching", "strictmode"], "sync ran on the main thread and froze the UI until the system reported an ANR"))

    # 16. Sockets leak until the process runs out of file descriptors; then everything
    #     that opens a file or a socket fails, each in its own words.
    ev = repeat(150, 30, 10, "W", "FdMonitor", lambda i: f"open file descriptors: {700 + i * 30} of 1024")
    ev += repeat(460, 7, 15, "E", "OkHttp", lambda i: "java.net.SocketException: socket failed: EMFILE (Too many open files)")
    ev += repeat(461, 11, 10, "E", "SQLiteLog", lambda i: "(14) cannot open file at line 39915 of [a0b1c2d3]: Too many open files")
    ev += repeat(462, 19, 6, "E", "ImageCache", lambda i: "disk cache write failed: /data/user/0/com.example.notes/cache/img: open failed: EMFILE (Too many open files)")
    incidents.append(("file_descriptors", ev, ["too many open files", "emfile", "file descriptor"], "leaked sockets exhausted the process's file descriptors"))

    with open(os.path.join(OUT, "causes.tsv"), "w") as f:
        f.write("# incident\tcause phrases (any, case-insensitive)\twhat happened\thalf (dev: tuned on; test: never tuned on)\n")
        for i, (name, ev, phrases, what) in enumerate(incidents):
            window(name, ev, seed=1000 + i)
            half = "dev" if i < 8 else "test"
            f.write(f"{name}\t{'|'.join(phrases)}\t{what}\t{half}\n")


if __name__ == "__main__":
    main()
