#!/usr/bin/env python3
"""Writes TeamApp, a labelled DEVELOPMENT log (issue 12, fourth round): the Android
client logging of a team collaboration and project-tracking app (tasks on boards,
comments and mentions, shared documents, a calendar, presence, notifications and push,
file attachments, sync with its server over HTTP and a realtime socket, an offline
action queue, search), 1,500 lines in the Loghub-2k layout.

    python3 bench/logs/extra/make_dev_team.py [OUT_DIR]

Made the way make_held_out_chat.py made ChatApp (statements written after what such an
app prints, each field drawn by a function, `Fixed` where a printed phrase such as an
error reason is part of the template, as Loghub's labels keep it; a line's label is its
statement with every field written `<*>`). Many of its messages start with a person's
display name of one to three words (`Priya Patel moved "Fix login" to Done`), and many
have a second name place (a board, a project, a document title, another person). Its
values also carry what app logs carry: task ids (`TASK-1422`) and hex ids, quoted user
text of any length, lists of names of any length, optional trailing parts (one field
holding the whole part, empty when absent, as in ChatApp's labels), a plural word after
a count (one field, `1 comment` / `3 comments`), key=value messages, HTTP lines, sizes
and durations with and without units, and phrases the labels keep (`sync failed: ...`).

Unlike ShopApp, ChatApp and HomeApp it was written as development data, after the
fourth round's miner change, to give the names-first kind of log a second development
example beside ChatApp: it belongs in `accord-bench ga`'s leave-one-out choice. It was
written without reading the miner. Fixed seed; the output is deterministic and committed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import Fixed, Part, fixed, hexid, ms, pick, some, took, uuid, write  # noqa: E402
import make_extra  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

PEOPLE = ["Priya Patel", "Chen Wei", "Lukas", "Ana Souza", "José María García", "Sam",
          "Kim Nguyen", "Oluwaseun Adeyemi", "Mary Jane Watson", "Tom", "Fatima Zahra",
          "Ravi", "Jonas Berg", "Dev Bot"]
EMAILS = ["priya@acme.example", "chen.wei@acme.example", "lukas@contractor.example",
          "ana.souza@acme.example", "sam+design@acme.example", "guest-4821@partner.example"]
BOARDS = ["Mobile Release", "Website Redesign", "Q3 Roadmap", "Onboarding", "Growth",
          "Platform", "Bugs", "Design System", "Marketing Launch 2025", "Ops"]
PROJECTS = ["Atlas", "Customer Portal", "Hiring", "Mobile App v5", "Data Platform",
            "Brand Refresh", "Internal Tools"]
COLUMNS = ["To Do", "In Progress", "Review", "Done", "Blocked", "Backlog", "QA", "Ready for Release"]
TASKS = ["Fix login", "Update privacy policy", "Crash on Android 14 when opening the camera",
         "QA", "Write release notes for 5.2", "Dark mode", "Migrate to Kotlin 2.0",
         "Invoice PDF shows wrong VAT", "Onboarding email #3", "Spike: offline search",
         "Renew SSL cert", "Prepare demo for Friday", "Tidy up"]
DOCS = ["Sprint 14 Retro", "API Guidelines", "Launch Checklist", "Meeting Notes 2025-03-12",
        "Roadmap", "Onboarding Handbook", "Incident 2025-03-09 postmortem", "Ideas",
        "Q2 OKRs – draft"]
EVENTS = ["Sprint Planning", "Standup", "1:1 Priya / Chen", "Design Review", "All Hands",
          "Retro", "Customer call – Globex", "Lunch"]
LABELS = ["bug", "frontend", "backend", "urgent", "needs design", "tech debt", "good first issue",
          "blocked by vendor", "ios", "android"]
FILES = ["screenshot.png", "IMG_2041.jpg", "Screen Recording 2025-03-11.mp4", "spec v3.pdf",
         "logs.zip", "mockup-final-FINAL.fig", "budget_2025.xlsx", "notes.txt",
         "Contract – signed.pdf"]
COMMENTS = ["LGTM", "+1", "done", "Can you take a look?", "On it 👍",
            "I think this is a duplicate of the crash we saw last week",
            "Moved to next sprint, blocked by the API change",
            "Tested on Pixel 7 and Galaxy S22, works on both. Still fails on the tablet though, see attached recording",
            "why?", "@Priya can you confirm the copy?", "Fixed in 5.2.1",
            "Let's discuss in standup tomorrow"]
QUERIES = ["login", "crash", "release notes", "Priya", "invoice vat", "dark mode", "q3"]
SCREENS = ["BoardScreen", "TaskDetailScreen", "DocumentEditor", "CalendarScreen", "InboxScreen",
           "SearchScreen"]
API = "https://api.teamapp.example"


def person(r):
    return pick(r, PEOPLE)


def board(r):
    return pick(r, BOARDS)


def project(r):
    return pick(r, PROJECTS)


def task_id(r):
    return f"{pick(r, ['TASK', 'TASK', 'TASK', 'BUG', 'MOB'])}-{r.randrange(1, 3000)}"


def doc(r):
    return pick(r, DOCS)




def took_bare(r):
    """A duration some statements print with a unit and some without (`412` or `412ms`)."""
    n = r.randrange(3, 2500)
    # The unit, printed or not, is an optional part (bench/logs/LABELLING.md, rule 4).
    return pick(r, [str(n), Part(f"{n}ms", "<*>ms"), Part(f"{n} ms", "<*> ms")])


def size(r):
    return pick(r, [f"{r.randrange(1, 999)} KB", f"{r.randrange(1, 90)}.{r.randrange(10)} MB",
                    f"{r.randrange(100, 999)} B", f"{r.randrange(1, 999)}KB"])


def plural(word, lo, hi):
    """A count and its word, singular or plural: two templates (LABELLING.md rule 4)."""
    return lambda r: (lambda n: Part(f"{n} {word}", f"<*> {word}") if n == 1
                      else Part(f"{n} {word}s", f"<*> {word}s"))(r.randrange(lo, hi))


def names(r, lo=1, hi=5):
    return ", ".join(some(r, PEOPLE, lo, hi))


def date(r):
    day = f"{pick(r, ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])} {pick(r, ['Mar', 'Apr'])} {r.randrange(1, 29)}"
    return pick(r, [day, f"{day} {r.randrange(8, 19)}:{pick(r, ['00', '15', '30', '45'])}",
                    f"2025-0{r.randrange(3, 7)}-{r.randrange(1, 29):02d}"])


def team_app():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # Sync with the server: HTTP, the realtime socket, the offline queue.
    st(70, "D", "OkHttp", "--> {} {}", fixed(["GET"] * 5 + ["POST", "PATCH", "PUT", "DELETE"]),
       lambda r: pick(r, [f"{API}/v2/boards/{r.randrange(100, 999)}/cards?since={r.randrange(10**6)}",
                          f"{API}/v2/tasks/{task_id(r)}", f"{API}/v2/tasks/{task_id(r)}/comments",
                          f"{API}/v2/docs/{hexid(r, 10)}/ops", f"{API}/v2/sync?cursor={hexid(r, 16)}",
                          f"{API}/v2/search?q={pick(r, QUERIES).replace(' ', '+')}"]))
    st(65, "D", "OkHttp", "<-- {} {} ({}ms, {} body)", lambda r: pick(r, [200] * 9 + [201, 204, 304, 401, 409, 503]),
       lambda r: pick(r, [f"{API}/v2/boards/{r.randrange(100, 999)}/cards", f"{API}/v2/tasks/{task_id(r)}",
                          f"{API}/v2/sync", f"{API}/v2/docs/{hexid(r, 10)}/ops"]),
       lambda r: r.randrange(18, 4000),
       lambda r: pick(r, [f"{r.randrange(1, 90)}.{r.randrange(10)}KB", f"{r.randrange(0, 900)}-byte", Fixed("unknown-length")]))
    st(16, "I", "SyncEngine", "sync started (reason={}, pending={})",
       fixed(["periodic", "push", "app_foreground", "pull_to_refresh", "connectivity"]),
       lambda r: r.randrange(0, 30))
    st(15, "I", "SyncEngine", "sync finished in {}: {} tasks, {} comments, {} docs updated, cursor={}",
       took, lambda r: r.randrange(0, 120), lambda r: r.randrange(0, 60), lambda r: r.randrange(0, 9),
       lambda r: hexid(r, 16))
    st(6, "W", "SyncEngine", "sync failed: {}; retry in {}s",
       fixed(["java.net.SocketTimeoutException: timeout", "cursor expired, full resync required"]), lambda r: pick(r, [5, 10, 30, 60, 120]))
    st(95, "V", "RealtimeSocket", "ping ok rtt={}ms", ms)
    st(4, "I", "RealtimeSocket", "subscribed to {}", lambda r: ", ".join(f"board/{b}" for b in some(r, BOARDS, 1, 6)))
    st(5, "W", "RealtimeSocket", "socket closed: {}, reconnecting in {}",
       fixed(["idle timeout", "server going away (1001)"]),
       lambda r: pick(r, [f"{r.randrange(1, 30)}s", f"{r.randrange(100, 999)}ms"]))
    st(12, "I", "OfflineQueue", "queued {} for {} ({} pending)",
       fixed(["move_task", "add_comment", "assign", "set_due_date", "upload_attachment", "edit_doc"]),
       task_id, lambda r: r.randrange(1, 40))
    st(8, "I", "OfflineQueue", "flushed {} in {} ms", plural("action", 1, 25), ms)
    st(4, "W", "OfflineQueue", "dropping action {} on {}: {}", lambda r: hexid(r, 8), task_id,
       fixed(["task was deleted", "permission denied (403)"]))

    # Tasks and boards, most of it as the activity feed prints it: the person first.
    st(60, "I", "ActivityFeed", "{} moved \"{}\" to {}", person, lambda r: pick(r, TASKS), lambda r: pick(r, COLUMNS))
    st(16, "I", "ActivityFeed", "{} created {} \"{}\" in {}", person, task_id, lambda r: pick(r, TASKS), board)
    st(18, "I", "ActivityFeed", "{} assigned {} to {}", person, task_id, person)
    st(22, "I", "ActivityFeed", "{} completed {}", person, task_id)
    st(9, "I", "ActivityFeed", "{} changed the due date of {} to {}", person, task_id, date)
    st(6, "I", "ActivityFeed", "{} set the priority of {} to {}", person, task_id,
       fixed(["Urgent", "High", "Medium", "Low", "No priority"]))
    st(7, "I", "ActivityFeed", "{} added labels {} to {}", person,
       lambda r: ", ".join(some(r, LABELS, 1, 4)), task_id)
    st(2, "I", "ActivityFeed", "{} archived the board {}", person, board)
    st(14, "I", "BoardRepository", "loaded board {} ({} columns, {} cards) in {} ms", board,
       lambda r: r.randrange(3, 9), lambda r: r.randrange(0, 240), ms)

    # Comments and mentions.
    st(45, "I", "Comments", "{} commented on {}: \"{}\"", person, task_id, lambda r: pick(r, COMMENTS))
    st(10, "I", "Comments", "{} replied to {} on {}", person, person, task_id)
    st(14, "I", "Mentions", "{} mentioned you in {}{}", person,
       lambda r: pick(r, [task_id(r), Part(f"\"{doc(r)}\"", "\"<*>\"")]),
       lambda r: pick(r, [Fixed(""), Fixed(""), Part(f" (comment {hexid(r, 6)})", " (comment <*>)")]))
    st(6, "D", "Mentions", "suggestions for \"@{}\": {}", lambda r: pick(r, ["p", "ch", "a", "sam", "j", "ma"]),
       lambda r: names(r, 1, 6))

    # Shared documents.
    st(20, "I", "DocEditor", "{} opened \"{}\"", person, doc)
    st(18, "D", "DocEditor", "saved revision {} of \"{}\" ({} ops, {})", lambda r: r.randrange(2, 900), doc,
       lambda r: r.randrange(1, 300), size)
    st(8, "I", "DocEditor", "{} and {} are editing \"{}\"", person, plural("other", 1, 6), doc)
    st(3, "W", "DocEditor", "merge conflict in \"{}\" at block {}, keeping {} version", doc,
       lambda r: hexid(r, 8), fixed(["server", "local"]))
    st(4, "I", "DocSharing", "{} shared \"{}\" with {}", person, doc,
       lambda r: pick(r, [names(r, 1, 3), Part(f"everyone in {project(r)}", "everyone in <*>")]))

    # Calendar.
    st(7, "I", "Calendar", "{} scheduled \"{}\" for {} with {}", person, lambda r: pick(r, EVENTS), date,
       lambda r: names(r, 1, 7))
    st(10, "I", "Calendar", "reminder: \"{}\" starts in {}", lambda r: pick(r, EVENTS),
       lambda r: pick(r, ["5 min", "10 min", "15 min", "1 hour", "1 min"]))
    st(4, "I", "Calendar", "{} declined \"{}\"{}", person, lambda r: pick(r, EVENTS),
       lambda r: pick(r, [Fixed(""), Fixed(""),
                          Part(f": \"{pick(r, ['Out sick', 'clash with the customer call', 'on holiday, sorry!'])}\"", ": \"<*>\"")]))

    # Presence.
    st(30, "V", "Presence", "{} is now {}", person, fixed(["online", "away", "offline", "in a meeting", "do not disturb"]))
    st(9, "D", "Presence", "presence batch: online={} away={} offline={}", lambda r: r.randrange(0, 40),
       lambda r: r.randrange(0, 20), lambda r: r.randrange(0, 90))

    # Notifications and push.
    st(18, "I", "NotificationCenter", "posted notification {} for {}: {}", lambda r: r.randrange(1000, 9999), task_id,
       lambda r: pick(r, [plural("new comment", 1, 9)(r), plural("update", 1, 6)(r)]))
    st(9, "D", "NotificationCenter", "notification suppressed: {}",
       fixed(["quiet hours until 08:00", "channel muted", "app in foreground"]))
    st(20, "D", "FcmService", "push received type={} priority={} size={}",
       fixed(["task_update", "comment", "mention", "calendar", "presence"]),
       fixed(["high", "normal"]), lambda r: r.randrange(90, 4096))

    # File attachments.
    st(9, "I", "Attachments", "{} attached \"{}\" to {} ({})", person, lambda r: pick(r, FILES), task_id, size)
    upload = {}  # the progress line's fields are drawn in order: percent, then sent, then total

    def upload_pct(r):
        upload["total"] = r.randrange(20_000, 90_000_000)
        upload["pct"] = r.randrange(1, 100)
        return upload["pct"]

    def in_units(n):
        return f"{n / 1024:.0f} KB" if n < 1_000_000 else f"{n / 1024 / 1024:.1f} MB"

    st(16, "V", "Attachments", "upload {} progress {}% ({} of {})", lambda r: hexid(r, 12), upload_pct,
       lambda r: in_units(upload["total"] * upload["pct"] // 100), lambda r: in_units(upload["total"]))
    st(3, "W", "Attachments", "upload of \"{}\" failed: {}", lambda r: pick(r, FILES),
       fixed(["file exceeds the 100 MB limit", "connection reset by peer"]))
    st(6, "D", "Attachments", "thumbnail for {} generated took={}", lambda r: pick(r, FILES), took_bare)

    # Search.
    st(11, "D", "Search", "search \"{}\" in {} returned {} in {} ms", lambda r: pick(r, QUERIES),
       lambda r: (lambda b: Fixed(b) if b == "all projects" else b)(pick(r, BOARDS + PROJECTS + ["all projects"])),
       plural("result", 0, 40), ms)
    st(2, "I", "SearchIndex", "index rebuilt: {} tasks, {} docs, {} comments in {}", lambda r: r.randrange(100, 9000),
       lambda r: r.randrange(10, 400), lambda r: r.randrange(100, 30000), took)

    # Projects and members.
    st(5, "I", "ProjectMembers", "{} invited {} to {}", person, lambda r: pick(r, [pick(r, EMAILS), person(r)]), project)
    st(4, "I", "ProjectMembers", "{} joined {}", person, project)
    st(4, "D", "ProjectMembers", "members of {}: {}", project, lambda r: names(r, 2, 9))
    st(6, "I", "ProjectRepository", "switched to project {} (workspace {})", project,
       lambda r: pick(r, ["acme", "acme-design", "partner-globex"]))

    # Auth, work, lifecycle, performance.
    st(3, "I", "AuthManager", "token refreshed expires_in={}s scope={}", lambda r: pick(r, [3600, 7200, 86400]),
       lambda r: pick(r, ["read write", "read write admin", "read"]))
    st(2, "W", "AuthManager", "token refresh failed: {}", fixed(["invalid_grant"]))
    st(10, "I", "WM-WorkerWrapper", "Worker result SUCCESS for Work [ id={}, tags={{ {} }} ]", uuid,
       lambda r: ", ".join(some(r, ["com.teamapp.sync.SyncWorker", "periodic-sync", "upload", "com.teamapp.attach.UploadWorker"], 1, 3)))
    st(7, "I", "AppLifecycle", "app moved to {} after {}", fixed(["foreground", "background"]), took)
    st(8, "W", "Performance", "slow frame {} on {}", took_bare, fixed(SCREENS))
    st(1, "I", "Database", "migrated schema {} -> {} in {} ms", lambda r: 41, lambda r: 42, ms)
    return S


if __name__ == "__main__":
    make_extra.OUT = OUT
    make_extra.LINES = 1500
    write("TeamApp", team_app(), 21)
