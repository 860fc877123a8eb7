#!/usr/bin/env python3
"""Writes ChatApp, a second labelled log kept OUT of the miner's development (issue 12,
third round): the client logging of a messaging app (Android, end-to-end encrypted
chats and groups, a websocket to its server, media download and upload, voice and video
calls, contact sync, backup), 1,500 lines in the Loghub-2k layout.

    python3 bench/logs/extra/make_held_out_chat.py [OUT_DIR]

Made the way make_held_out.py made ShopApp (statements written after what such an app
prints, each field drawn by a function, `Fixed` where a printed phrase such as an error
reason is part of the template, as Loghub's labels keep it), but for a kind of log none
of the development logs covers. Its values carry what app logs carry: display names and
conversation names of one to three words (outside brackets, `Ana Souza`, `Family Chat`),
quoted user text of any length, Matrix-style user ids (`@ana:chat.example.org`), lists
of names of any length, optional clauses, plural words that follow a count, emoji,
sizes and durations with and without units. It was written and scored before the miner
change of the third round and is never part of `accord-bench ga`'s choice: it is scored
only with ga.py (bench/logs/held_out_ga.sh), once before and once after that change.
Fixed seed; the output is committed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import Fixed, Part, fixed, hexid, ip, ms, pick, some, took, uuid, write  # noqa: E402
import make_extra  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

PEOPLE = ["Ana Souza", "Jon", "Mom", "Priya Patel", "Lukas", "Kim Nguyen", "Dad", "Sofia",
          "José María García", "Chen Wei", "Olu", "Grandma Rose"]
HANDLES = ["ana", "jon.b", "mom", "priya", "lukas_k", "kim", "dad", "sofia", "jmgarcia",
           "chenwei", "olu", "rose"]
CHATS = ["Family Chat", "Book Club", "Ana Souza", "Jon", "Team Standup", "Flatmates",
         "Project Atlas", "Mom", "Weekend Trip 2025", "Climbing 🧗", "Priya Patel",
         "5-a-side Football"]
SERVERS = ["chat.example.org", "matrix.example.net", "im.corp.example"]
EDGES = ["edge-fra-2.chat.example.org:443", "edge-gru-1.chat.example.org:443",
         "chat.example.org:443", "push.chat.example.org:5223"]
FILES = ["IMG_2041.jpg", "IMG_20250314_181502.jpg", "VID_20250301_093011.mp4", "boarding pass.pdf",
         "Trip to Lisbon.mp4", "PTT-20250311-WA0007.opus", "scan 3.pdf", "invoice_march.pdf",
         "Screenshot_20250312-221904.png", "recipe.txt"]
MIMES = {"jpg": "image/jpeg", "png": "image/png", "mp4": "video/mp4", "pdf": "application/pdf",
         "opus": "audio/ogg", "txt": "text/plain"}
KINDS = ["text", "text", "text", "image", "voice note", "sticker", "video", "file", "location",
         "GIF"]
EMOJI = ["👍", "❤️", "😂", "😮", "🙏", "🎉", "+1"]
STATUS = ["At the gym", "Busy", "Available", "On vacation until Monday", "🎧", "Hey there! I am using Chat",
          "battery low, text only", "In a meeting"]
QUERIES = ["pizza", "flight", "address of the cabin", "wifi password", "tomorrow", "photos from saturday"]
TITLES = ["Lisbon weather forecast", "How to train for your first 10K", "GitHub",
          "Rent a cabin in the Black Forest – Book now", "YouTube", "Train tickets: Berlin to Prague"]


def person(r):
    return pick(r, PEOPLE)


def chat(r):
    return pick(r, CHATS)


def user_id(r):
    return f"@{pick(r, HANDLES)}:{pick(r, SERVERS)}"


def msg_id(r):
    return f"${hexid(r, 12)}"




def size(r):
    return pick(r, [f"{r.randrange(1, 999)} KB", f"{r.randrange(1, 90)}.{r.randrange(10)} MB",
                    f"{r.randrange(100, 999)} B"])


def a_file(r):
    return pick(r, FILES)


def mime(name):
    return MIMES[name.rsplit(".", 1)[1]]


def kind(r):
    """A message kind: one of the app's own, so each is a template of its own (LABELLING.md rule 3)."""
    return Fixed(pick(r, KINDS))


def names(r, lo=1, hi=4):
    return ", ".join(some(r, PEOPLE, lo, hi))


def chat_app():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # The connection to the server.
    st(14, "I", "SocketClient", "connecting to {} (attempt {})", lambda r: pick(r, EDGES), lambda r: r.randrange(1, 6))
    st(13, "I", "SocketClient", "connected to {} in {} ms via {}", lambda r: pick(r, EDGES), ms,
       lambda r: Fixed(pick(r, ["websocket", "websocket", "long-poll", "http/2"])))
    st(9, "W", "SocketClient", "connection lost: {}, reconnecting in {}s",
       fixed(["read timeout", "network changed", "server closed the connection (1006)"]), lambda r: r.randrange(1, 60))
    st(40, "V", "SocketClient", "heartbeat ack in {} ms", ms)
    # Sending and receiving messages.
    st(50, "I", "MessageSender", "sending {} {} to {}{}", kind, msg_id, chat,
       lambda r: pick(r, [Fixed(""), Fixed(""), Fixed(""), Part(f" (reply to {msg_id(r)})", " (reply to <*>)"),
                          Part(f" with {r.randrange(2, 9)} attachments", " with <*> attachments")]))
    st(45, "D", "MessageSender", "message {} delivered to {} of {} recipients in {} ms", msg_id,
       lambda r: r.randrange(1, 9), lambda r: r.randrange(1, 12), ms)
    st(6, "W", "MessageSender", "message {} to {} failed: {}; queued for retry", msg_id, chat,
       fixed(["no connection", "rate limited by server"]))
    st(90, "I", "MessageReceiver", "received {} {} from {} in {}", kind, msg_id, person, chat)
    st(25, "D", "MessageReceiver", "sync batch: {} events, {} messages, {} receipts, next_batch={}",
       lambda r: r.randrange(1, 200), lambda r: r.randrange(0, 80), lambda r: r.randrange(0, 40),
       lambda r: f"s{r.randrange(10**5, 10**6)}_{r.randrange(10**3, 10**4)}")
    st(45, "D", "ReadReceipts", "{} read up to {} in {}", person, msg_id, chat)
    st(35, "V", "TypingIndicator", "{} is typing in {}", person, chat)
    st(8, "V", "TypingIndicator", "{} and {} others are typing in {}", person, lambda r: r.randrange(1, 6), chat)
    st(12, "I", "Reactions", "{} reacted {} to {}", person, lambda r: pick(r, EMOJI), msg_id)
    st(5, "I", "MessageEditor", "message {} edited ({} -> {} chars)", msg_id,
       lambda r: r.randrange(1, 400), lambda r: r.randrange(1, 400))
    st(4, "I", "MessageEditor", "message {} deleted for {}", msg_id, fixed(["everyone", "me"]))
    st(9, "D", "DraftStore", "draft saved for {} ({} chars)", chat, lambda r: r.randrange(1, 600))
    # Conversations and groups.
    st(30, "I", "ConversationList", "opened conversation \"{}\" ({} unread, {} members)", chat,
       lambda r: r.randrange(0, 120), lambda r: r.randrange(2, 40))
    st(4, "I", "GroupManager", "{} renamed the group \"{}\" to \"{}\"", person, chat, chat)
    st(7, "I", "GroupManager", "{} added {} to {}", person, names, chat)
    st(4, "I", "GroupManager", "{} left {}", person, chat)
    st(3, "I", "GroupManager", "{} removed {} from {}", person, person, chat)
    st(5, "I", "ConversationList", "muted {} {}", chat,
       lambda r: pick(r, [Fixed("for 8 hours"), Fixed("for 1 week"), Fixed("until turned back on"),
                          Part(f"until {r.randrange(6, 23)}:00", "until <*>")]))
    st(5, "I", "Polls", "poll \"{}\" in {} closed: {}",
       lambda r: pick(r, ["Dinner Friday?", "Which date works", "Pizza or sushi", "Next book"]), chat,
       lambda r: ", ".join(f"{o} {r.randrange(0, 9)}" for o in some(r, ["Yes", "No", "Maybe", "Sat", "Sun", "pizza", "sushi"], 2, 4)))
    st(8, "I", "Presence", "{} is now {}", person, fixed(["online", "away", "offline", "do not disturb"]))
    st(4, "I", "ProfileRepository", "status set to \"{}\"", lambda r: pick(r, STATUS))
    # End-to-end encryption.
    st(10, "I", "CryptoStore", "established session with device {} of {} ({})",
       lambda r: "".join(pick(r, "ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(10)), user_id,
       fixed(["olm", "megolm", "olm"]))
    st(16, "D", "CryptoStore", "decrypted {} events in {} ms", lambda r: r.randrange(1, 200), ms)
    st(6, "W", "CryptoStore", "unable to decrypt {} from {}: {}", msg_id, user_id,
       fixed(["unknown inbound session", "message index too old"]))
    st(4, "W", "CryptoStore", "safety number changed for {} ({})", person, user_id)
    st(6, "D", "KeyUploader", "uploaded {} one-time keys, server now has {}", lambda r: r.randrange(5, 50),
       lambda r: r.randrange(10, 100))
    # Media.
    st(22, "I", "MediaDownloader", "downloading {} ({}) for {}", a_file, size, msg_id)
    st(20, "I", "MediaDownloader", "download of {} finished in {} ({}/s)", a_file, took, size)
    st(6, "W", "MediaDownloader", "download of {} paused: {}", a_file,
       fixed(["waiting for Wi-Fi", "storage almost full"]))
    st(5, "I", "MediaDownloader", "download of {} resumed at {}%", a_file, lambda r: r.randrange(1, 99))
    st(14, "I", "MediaUploader", "uploading {} ({}, {}) to {}", a_file,
       lambda r: pick(r, list(MIMES.values())), size, chat)
    st(18, "V", "MediaUploader", "upload {} progress {}% ({} of {})", lambda r: uuid(r)[:8],
       lambda r: r.randrange(1, 100), size, size)
    st(5, "I", "VideoCompressor", "compressed {} from {} to {} in {}", a_file, size, size, took)
    st(7, "D", "LinkPreview", "fetched preview for {} in {} ms: \"{}\"",
       lambda r: pick(r, ["https://www.youtube.com/watch?v=" + hexid(r, 11), "https://github.com/",
                          f"https://example.com/blog/{r.randrange(2010, 2026)}/post",
                          "https://weather.example.com/lisbon"]), ms, lambda r: pick(r, TITLES))
    # Calls.
    st(5, "I", "CallManager", "incoming {} call from {}{}", fixed(["voice", "video"]), person,
       lambda r: pick(r, [Fixed(""), Part(f" in {pick(r, CHATS)}", " in <*>")]))
    st(5, "I", "CallManager", "call {} ended after {}: {}", lambda r: uuid(r)[:8], took,
       fixed(["hung up", "no answer", "connection lost"]))
    st(6, "D", "WebRtc", "ICE pair selected: {}:{} -> {}:{} ({})", ip, lambda r: r.randrange(1024, 65535), ip,
       lambda r: r.randrange(1024, 65535), fixed(["host", "srflx", "relay"]))
    st(10, "D", "WebRtc", "audio stats: jitter {} ms, loss {}%, rtt {} ms", lambda r: r.randrange(0, 80),
       lambda r: f"{r.randrange(0, 20)}.{r.randrange(10)}", ms)
    # Notifications and push.
    st(18, "I", "NotificationCenter", "showing notification for {}: {}", chat,
       lambda r: (lambda n: Part(f"{n} new message", "<*> new message") if n == 1
                  else Part(f"{n} new messages", "<*> new messages"))(r.randrange(1, 12)))
    st(8, "D", "NotificationCenter", "notification for {} suppressed: {}", chat,
       fixed(["conversation is open", "do not disturb is on"]))
    st(16, "D", "PushReceiver", "FCM message {} received (priority {}, {} bytes)",
       fixed(["new_message", "call", "receipt", "key_change"]), fixed(["high", "normal"]),
       lambda r: r.randrange(80, 4000))
    # Contacts, backup, storage, lifecycle.
    st(4, "I", "ContactSync", "synced {} contacts in {} ms ({} new, {} changed, {} removed)",
       lambda r: r.randrange(20, 900), ms, lambda r: r.randrange(0, 9), lambda r: r.randrange(0, 9), lambda r: r.randrange(0, 4))
    st(6, "D", "ContactSync", "contact {} matched to {}", person, user_id)
    st(3, "I", "BackupJob", "backup started to {} ({} messages, {})",
       fixed(["Google Drive", "device storage"]), lambda r: r.randrange(1000, 90000), size)
    st(3, "I", "BackupJob", "backup finished in {}: {} messages, {} media files, {}", took,
       lambda r: r.randrange(1000, 90000), lambda r: r.randrange(0, 3000), size)
    st(3, "I", "MessageStore", "vacuum freed {} ({} rows deleted)", size, lambda r: r.randrange(0, 5000))
    st(6, "D", "MessageSearch", "search \"{}\" in {} found {} messages in {} ms",
       lambda r: pick(r, QUERIES), lambda r: (lambda c: Fixed(c) if c == "all chats" else c)(pick(r, CHATS + ["all chats"])),
       lambda r: r.randrange(0, 80), ms)
    st(5, "I", "AppLifecycle", "app moved to {} after {}", fixed(["foreground", "background"]), took)
    return S


if __name__ == "__main__":
    make_extra.OUT = OUT
    make_extra.LINES = 1500
    write("ChatApp", chat_app(), 16)
