#!/usr/bin/env python3
"""Writes MediaApp, a never-tuned labelled log (issue 12, sixth round): the Android
client logging of a video and podcast streaming app, as its developers see it in
logcat. 1,500 lines in the Loghub-2k layout (`MediaApp/MediaApp_2k.log` and
`MediaApp/MediaApp_2k.log_structured_corrected.csv`).

    python3 bench/logs/extra/make_held_out_media.py [OUT_DIR]

Same method and helpers as make_extra.py: each logging statement is a format string
with `{}` fields and a function per field that draws its value; a line's label is its
statement with every field written `<*>`, except fields drawn as `Fixed` (a phrase the
program picks from a small set of its own: an error reason, an exception's message, a
player error name), which the label keeps, with their numbers as `<*>`. Relabelled in
issue 12's seventh round to bench/logs/LABELLING.md (the content is unchanged): a word
from one of the app's own small sets (a player state, a segment kind, an ABR direction,
a network type, a subscription state) is kept in the label too, and an optional part
(` (cached)`, `, reason=adaptive`, a size's `bytes`) is a `Part` of its own, with its
values as `<*>`, and nothing when absent, so a statement can make several templates.

Written without reading the miner; fixed seed, deterministic, output committed.
"""
import make_extra
from make_extra import Fixed, Part, fixed, hexid, kept_word, pick, size, some, took, uuid, write

# ---- value pools ------------------------------------------------------------------

SHOWS = ["The Long Harbour", "Night Shift", "Kitchen Wars", "Apollo 13 Revisited", "Deep Blue",
         "Tales", "The Quiet Year", "Morning Coffee", "Startup Stories", "Mars 2049",
         "Into the Woods", "True Crime Weekly", "Fifteen Minutes", "The 4th Floor", "Bluey",
         "Planet Earth III", "Hard Fork", "Slow Burn", "Dune Part Two", "Letters from Lisbon",
         "Cooking with Nonna", "Overtime"]
EP_NAMES = ["Pilot", "The Return", "Homecoming", "Part 2", "Live from Berlin", "Ask Me Anything",
            "Finale", "Cold Open", "What the River Knows"]
PROFILES = ["Kids", "Kids Profile", "Dad", "Maria", "Guest", "Grandma Rose", "Jo and Sam",
            "Anna Lena Weber", "Main", "Teo", "Mum"]
RECEIVERS = ["Living Room TV", "Bedroom", "Kitchen speaker", "Sam's TV", "Office Display",
             "SHIELD", "Basement Projector", "Chromecast", "Grandma's Living Room"]
CDN_HOSTS = ["cdn1.media.example.net", "edge-fra.vcdn.example.com", "vod.streamly.example",
             "live-eu.streamly.example", "localhost:8089"]
VIDEO_CODECS = ["c2.qti.avc.decoder", "c2.qti.hevc.decoder", "c2.exynos.h264.decoder",
                "OMX.qcom.video.decoder.avc", "c2.android.av1.decoder", "c2.mtk.vp9.decoder"]
AUDIO_CODECS = ["OMX.google.aac.decoder", "c2.android.opus.decoder", "c2.android.aac.decoder",
                "c2.dolby.eac3.decoder"]
QUERIES = ["", "bluey", "night shift", "the long harbour season 2", "true crime",
           "movies like dune but funnier", "cooking", "podcast about startups in europe",
           "kids", "apollo 13", "documentary ocean whales narrated by someone calm", "s"]
SCREENS = ["PlayerActivity", "HomeFragment", "DetailsFragment", "SearchFragment",
           "DownloadsFragment", "MainActivity.onResume", "ExoPlayerImplInternal.handleMessage"]
RESOLUTIONS = [(426, 240), (640, 360), (854, 480), (1280, 720), (1920, 1080), (3840, 2160)]


def show(r):
    return pick(r, SHOWS)


def episode(r):
    s, e = r.randrange(1, 9), r.randrange(1, 24)
    return pick(r, [f"Season {s} Episode {e}", f"S{s:02d}E{e:02d}", f"Episode {r.randrange(1, 400)}",
                    f"#{r.randrange(1, 400)}: {pick(r, EP_NAMES)}", pick(r, EP_NAMES)])


def profile(r):
    return pick(r, PROFILES)


def receiver(r):
    return pick(r, RECEIVERS)


def item(r):
    return f"{pick(r, ['ep', 'mov', 'pod', 'live'])}_{r.randrange(1000, 99999)}"


def hms(r, max_h=3):
    return f"{r.randrange(0, max_h):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}"


def short(r):
    """A short duration in one of the notations a player prints: `843ms`, `1.2s`, `2s`."""
    return pick(r, [f"{r.randrange(1, 1000)}ms", f"{r.randrange(0, 30)}.{r.randrange(10)}s",
                    f"{r.randrange(1, 60)}s"])


def bitrate(r):
    kbps = pick(r, [96, 128, 192, 400, 800, 1200, 2500, 4800, 8000, 16000])
    return pick(r, [f"{kbps} kbps", f"{kbps / 1000:.1f} Mbps", f"{kbps * 1000}"])


def nbytes(r):
    """A size with or without its unit: `12.4 MB`, `13004544 bytes`, `13004544`."""
    n = r.randrange(20_000, 400_000_000)
    return pick(r, [size(r), Part(f"{n} bytes", "<*> bytes"), f"{n}", f"{n / 1024 / 1024:.1f} MB"])


def seg_size(r):
    """A segment's size with or without its unit: `1.2 MB`, `843 KB`, `1258291 bytes`, `1258291`."""
    n = r.randrange(2_000, 9_000_000)
    return pick(r, [f"{n / 1024 / 1024:.1f} MB", f"{n // 1024} KB", Part(f"{n} bytes", "<*> bytes"), f"{n}"])


def rendition(r):
    return pick(r, ["240p", "360p", "480p", "720p", "1080p", "2160p", "en-128k", "de-96k",
                    "aac-stereo", "ec3-5.1"])


def seg_url(r):
    kind = pick(r, ["vod", "vod", "live"])
    ext = pick(r, ["m4s", "ts", "m4s"])
    return f"https://{pick(r, CDN_HOSTS)}/{kind}/{hexid(r, 8)}/{rendition(r)}/seg_{r.randrange(1, 2000)}.{ext}"


def manifest_url(r):
    return f"https://{pick(r, CDN_HOSTS)}/{pick(r, ['vod', 'live'])}/{hexid(r, 8)}/{pick(r, ['master.m3u8', 'manifest.mpd', 'index.m3u8'])}"


def key_id(r):
    return pick(r, [hexid(r, 32), uuid(r)])


def optional(r, p, text, label=None):
    """An optional part: its own template, labelled `label` (its text when it holds no
    value), and nothing when absent (bench/logs/LABELLING.md, rule 4)."""
    return Part(text, text if label is None else label) if r.random() < p else Fixed("")



# ---- the statements ---------------------------------------------------------------

def media_app():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # Playback ticks and segment loads: the bulk of the log.
    st(230, "D", "PlaybackTracker", "tick pos={} dur={} buf={} state={} item={}",
       hms, lambda r: hms(r, 4), short,
       fixed(["playing"] * 6 + ["paused", "buffering"]), item)
    seg = []

    def seg_kind(r):
        seg[:] = [pick(r, ["video"] * 4 + ["audio", "audio", "text"])]
        return Fixed(seg[0])

    def seg_rendition(r):
        return pick(r, {"video": ["240p", "360p", "480p", "720p", "1080p", "2160p"],
                        "audio": ["en-128k", "de-96k", "aac-stereo", "ec3-5.1"],
                        "text": ["en-vtt", "de-vtt", "es-vtt"]}[seg[0]])

    st(170, "D", "SegmentLoader", "loaded {} segment {} of {}: {} in {}{}",
       seg_kind, lambda r: r.randrange(1, 2000), seg_rendition, seg_size, short,
       lambda r: optional(r, 0.25, " (cached)"))
    st(14, "D", "SegmentLoader", "loaded init segment of {} in {}{}",
       rendition, short, lambda r: optional(r, 0.3, " (cached)"))
    st(18, "W", "SegmentLoader", "segment {} failed with HTTP {}, retry {}/{} in {}",
       seg_url, lambda r: pick(r, [404, 410, 500, 502, 503, 504]),
       lambda r: r.randrange(1, 4), lambda r: 3, short)
    st(22, "I", "ManifestLoader", "loaded {} manifest {} in {}: renditions {}{}",
       fixed(["HLS", "DASH"]), manifest_url, short,
       lambda r: " ".join(sorted(some(r, ["240p", "360p", "480p", "720p", "1080p", "2160p"], 1, 6),
                                 key=lambda x: int(x[:-1]))),
       lambda r: optional(r, 0.3, f" (live, window {r.randrange(30, 7200)}s)", " (live, window <*>s)"))
    st(7, "E", "ManifestLoader", "manifest load failed for {}: {}", manifest_url,
       fixed(["java.net.SocketTimeoutException: timeout",
              "HTTP 403 Forbidden (token expired)"]))
    st(40, "D", "OkHttp", "--> GET {}{}", seg_url,
       lambda r: optional(r, 0.4, f" Range: bytes={r.randrange(0, 10**6)}-{r.randrange(10**6, 10**7)}",
                          " Range: bytes=<*>-<*>"))
    st(38, "D", "OkHttp", "<-- {} {} ({}ms, {} body)",
       lambda r: pick(r, [200, 206, 206, 206, 304, 404]), seg_url,
       lambda r: r.randrange(8, 3000),
       lambda r: pick(r, [f"{r.randrange(1, 900)}.{r.randrange(10)}KB", f"{r.randrange(1, 9)}.{r.randrange(10)}MB",
                          f"{r.randrange(0, 900)}-byte", Fixed("unknown-length")]))

    # The player.
    st(55, "D", "ExoPlayerImpl", "state change {} -> {} (playWhenReady={}, reason={})",
       fixed(["IDLE", "BUFFERING", "READY", "ENDED"]),
       fixed(["BUFFERING", "READY", "READY", "ENDED", "IDLE"]),
       fixed(["true", "true", "false"]),
       fixed(["USER_REQUEST", "AUDIO_FOCUS_LOSS", "AUDIO_BECOMING_NOISY", "END_OF_MEDIA_ITEM", "REMOTE"]))
    st(26, "I", "PlaybackService", "now playing {} - {}{}", show, episode,
       lambda r: optional(r, 0.4, f" from {hms(r)}", " from <*>"))
    st(24, "I", "DefaultTrackSelector", "selected video track {} @ {} ({}){}",
       lambda r: "{}x{}".format(*pick(r, RESOLUTIONS)), bitrate, lambda r: pick(r, ["avc1.640028", "avc1.4d401f", "hvc1.2.4.L120.90", "av01.0.08M.08", "vp09.00.40.08"]),
       lambda r: optional(r, 0.5, f", reason={pick(r, ['initial', 'manual', 'adaptive', 'trick-play'])}"))
    st(18, "I", "DefaultTrackSelector", "selected audio track {} {}ch @ {} lang={}",
       lambda r: pick(r, ["mp4a.40.2", "ec-3", "opus", "ac-3"]), lambda r: pick(r, [1, 2, 2, 6]),
       bitrate, lambda r: pick(r, ["en", "de", "es", "fr", "pt-BR", "und"]))
    st(38, "I", "AdaptiveTrackSelection", "ABR switch {} {} -> {} (estimate={}, buffer={})",
       fixed(["up", "down"]),
       lambda r: f"{pick(r, ['360p', '480p', '720p', '1080p'])}@{bitrate(r)}",
       lambda r: f"{pick(r, ['480p', '720p', '1080p', '2160p'])}@{bitrate(r)}",
       bitrate, short)
    st(24, "W", "PlaybackStats", "rebuffering started at {} (buffer {}, bandwidth {})",
       hms, short, bitrate)
    st(21, "I", "PlaybackStats", "rebuffering ended after {}{}", short,
       lambda r: optional(r, 0.5, f" (stall #{r.randrange(1, 9)} this session)", " (stall #<*> this session)"))
    st(30, "W", "MediaCodecVideoRenderer", "Dropped frames: {}", lambda r: r.randrange(1, 120))
    st(19, "I", "MediaCodecRenderer", "Created codec {} for {} [{}] in {}",
       lambda r: pick(r, VIDEO_CODECS + AUDIO_CODECS),
       lambda r: pick(r, ["video/avc", "video/hevc", "video/av01", "audio/mp4a-latm", "audio/opus", "audio/eac3"]),
       lambda r: pick(r, [Part(f"{w}x{h}, {pick(r, ['23.976', '25.0', '29.97', '60.0'])}fps", "<*>, <*>fps")
                          for (w, h) in RESOLUTIONS[2:]] +
                      [Part(f"{pick(r, [44100, 48000])}Hz, {pick(r, [1, 2, 6])}ch", "<*>Hz, <*>ch")]),
       lambda r: f"{r.randrange(2, 400)}ms")
    st(6, "E", "MediaCodecRenderer", "Decoder init failed: {}, {}",
       lambda r: pick(r, VIDEO_CODECS + AUDIO_CODECS),
       fixed(["android.media.MediaCodec$CodecException: Failed to initialize component, error NO_MEMORY",
              "java.lang.IllegalStateException: insufficient resources for 2 secure decoders"]))
    st(10, "E", "ExoPlayerImplInternal", "Playback error on {}: {}", item,
       fixed(["ERROR_CODE_IO_NETWORK_CONNECTION_FAILED (2001)",
              "ERROR_CODE_DECODER_INIT_FAILED (4001)",
              "ERROR_CODE_BEHIND_LIVE_WINDOW (1002)"]))
    st(3, "I", "PlaybackService", "sleep timer set for {}",
       lambda r: pick(r, ["15 min", "30 min", Fixed("end of episode"), f"{r.randrange(5, 90)}m"]))

    # DRM licences.
    st(15, "D", "DrmSession", "requesting {} licence for key id {} from {}",
       fixed(["streaming", "streaming", "offline"]), key_id,
       lambda r: f"https://{pick(r, ['license.streamly.example', 'wv.drm.example.com'])}/v1/{pick(r, ['widevine', 'license'])}?id={hexid(r, 12)}")
    st(14, "I", "DrmSession", "licence acquired for key id {}: duration {}, playback duration {}{}",
       key_id, lambda r: pick(r, ["86400s", "172800s", f"{r.randrange(1, 72)}h", Fixed("unlimited")]),
       lambda r: pick(r, ["172800s", f"{r.randrange(1, 48)}h", Fixed("unlimited")]),
       lambda r: optional(r, 0.3, " (persistent)"))
    st(7, "E", "DrmSession", "licence request failed for {}: {}", key_id,
       fixed(["MediaDrm.MediaDrmStateException: Failed to open session",
              "HTTP 403 device revoked",
              "provisioning required"]))
    st(3, "W", "DrmSession", "keys for {} expire in {}", key_id, lambda r: pick(r, [short(r), hms(r), "2h 14m"]))

    # Downloads for offline viewing.
    st(45, "I", "DownloadService", "download {} \"{} - {}\" {}% ({} of {})",
       lambda r: r.randrange(1, 300), show, episode, lambda r: r.randrange(0, 101), nbytes, nbytes)
    st(12, "I", "DownloadService", "download {} completed: \"{}\" ({}) in {}",
       lambda r: r.randrange(1, 300), show, nbytes, lambda r: pick(r, [took(r), hms(r, 1)]))
    st(8, "E", "DownloadService", "download {} failed: {}", lambda r: r.randrange(1, 300),
       fixed(["storage full",
              "java.io.IOException: ENOSPC (No space left on device)",
              "licence expired"]))

    # Casting to a receiver.
    st(10, "I", "CastSession", "connected to {} ({}) session={}", receiver,
       lambda r: pick(r, ["Chromecast with Google TV", "Android TV", "Nest Hub", "Chromecast Ultra"]),
       lambda r: hexid(r, 16))
    st(20, "I", "CastSession", "{} is now {}", receiver,
       fixed(["playing", "paused", "buffering", "idle"]))
    st(6, "W", "CastSession", "session {} ended on {}: {}", lambda r: hexid(r, 16), receiver,
       fixed(["receiver disconnected", "app timed out after 30s"]))
    # The discovery line prints a count and the list it counts (fields are drawn in order).
    found = []

    def found_count(r):
        found[:] = some(r, RECEIVERS, 1, 5)
        return len(found)

    st(14, "D", "CastDiscovery", "found {} receivers: {}", found_count, lambda r: ", ".join(found))

    # Ads.
    st(12, "I", "AdsLoader", "ad break at {} with {} ads ({})",
       lambda r: pick(r, [Fixed("preroll"), Fixed("postroll"), hms(r), hms(r)]), lambda r: r.randrange(1, 6),
       lambda r: pick(r, [f"{r.randrange(15, 180)}s", f"00:{r.randrange(0, 3):02d}:{r.randrange(60):02d}"]))
    st(22, "D", "AdsLoader", "ad {}/{} started: id={} duration={} skippable={}",
       lambda r: r.randrange(1, 4), lambda r: r.randrange(3, 6), lambda r: f"{hexid(r, 6)}-{r.randrange(100, 999)}",
       lambda r: pick(r, ["15s", "30s", "6s", "00:00:30"]), fixed(["true", "false", "false"]))
    st(9, "E", "AdsLoader", "VAST error {}", fixed([
        "303: No Ads VAST response after one or more Wrappers",
        "402: Timeout of MediaFile URI",
        "100: XML parsing error"]))

    # Subscription billing.
    st(8, "I", "BillingClient", "purchase {} for {} state={} token={}",
       lambda r: f"GPA.{r.randrange(3300, 3399)}-{r.randrange(1000, 9999)}-{r.randrange(1000, 9999)}-{r.randrange(10000, 99999)}",
       lambda r: pick(r, ["premium_monthly", "premium_yearly", "family_plan", "podcasts_plus"]),
       fixed(["PURCHASED", "PENDING"]),
       lambda r: "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(24)) + "." + hexid(r, 20))
    st(9, "I", "SubscriptionManager", "subscription {} renewal state {} -> {}{}",
       lambda r: pick(r, ["premium_monthly", "premium_yearly", "family_plan"]),
       fixed(["active", "in_grace_period", "on_hold", "canceled"]),
       fixed(["active", "in_grace_period", "on_hold", "expired"]),
       lambda r: optional(r, 0.4, f", grace until 2025-0{r.randrange(3, 6)}-{r.randrange(10, 29)}", ", grace until <*>"))
    st(5, "W", "BillingClient", "billing flow for {} failed: {}",
       lambda r: pick(r, ["premium_monthly", "family_plan"]),
       fixed(["USER_CANCELED", "ITEM_ALREADY_OWNED"]))

    # Profiles.
    st(16, "I", "ProfileRepository", "{} switched to {}", profile, profile)
    st(13, "I", "ProfileRepository", "{} added {} to My List", profile, show)
    st(4, "I", "ProfileRepository", "{} set maturity rating to {}{}", profile,
       kept_word(["TV-Y7", "PG-13", "all", "16+"]), lambda r: optional(r, 0.5, " (PIN required)"))

    # Search and recommendations.
    st(18, "D", "SearchRepository", "query \"{}\" returned {} results in {}{}",
       lambda r: pick(r, QUERIES), lambda r: r.randrange(0, 60), short,
       lambda r: optional(r, 0.3, " (cached)"))
    st(15, "D", "Recommendations", "row \"{}\" for {}: {}",
       lambda r: pick(r, [Fixed("Continue Watching"), Fixed("Trending Now"),
                          Part(f"Because you watched {show(r)}", "Because you watched <*>"),
                          Fixed("New Episodes"), Part("Top 10", "Top 10")]),
       profile, lambda r: ", ".join(some(r, SHOWS, 1, 7)))

    # Podcasts.
    st(11, "I", "PodcastFeed", "fetched feed \"{}\" ({} episodes, etag {}) in {}{}", show,
       lambda r: r.randrange(1, 900), lambda r: f"W/\"{hexid(r, 10)}\"", short,
       lambda r: optional(r, 0.35, " (not modified)"))

    # Network, analytics, crashes, background work.
    st(12, "D", "NetworkMonitor", "network changed to {} (metered={}, bandwidth={})",
       fixed(["wifi", "cellular", "cellular", "ethernet", "none"]),
       fixed(["true", "false"]), bitrate)
    st(60, "D", "Analytics", "event name={} item={} profile=\"{}\" network={} pos={}",
       fixed(["play_start", "play_pause", "seek", "heartbeat", "play_complete", "add_to_list", "search"]),
       item, profile, fixed(["wifi", "cellular"]), hms)
    st(12, "D", "Analytics", "flushed {} events ({}) to {}",
       lambda r: r.randrange(1, 500), nbytes,
       lambda r: pick(r, ["https://events.streamly.example/v2/batch", "firebase", "segment"]))
    st(5, "E", "CrashReporter", "caught {} on thread {}",
       fixed(["java.lang.IllegalStateException: Player is accessed on the wrong thread",
              "java.lang.OutOfMemoryError: Failed to allocate a 8294412 byte allocation with 4194304 free bytes"]),
       lambda r: pick(r, ["main", "ExoPlayer:Playback", "DefaultDispatcher-worker-4", "pool-3-thread-1"]))
    st(5, "W", "ANRWatchdog", "main thread blocked for {} in {}",
       lambda r: pick(r, [f"{r.randrange(5000, 20000)}ms", f"{r.randrange(5, 20)}.{r.randrange(10)}s"]),
       fixed(SCREENS))
    st(15, "I", "WM-WorkerWrapper", "Worker result {} for Work [ id={}, tags={{ {} }} ]",
       fixed(["SUCCESS", "SUCCESS", "SUCCESS", "RETRY", "FAILURE"]), uuid,
       lambda r: ", ".join(some(r, ["com.streamly.work.SyncEpisodesWorker", "com.streamly.work.LicenseRenewWorker",
                                    "episodes", "periodic", "downloads"], 1, 3)))
    st(9, "I", "SyncEpisodesWorker", "synced {} episodes of {} podcasts, {} new{}",
       lambda r: r.randrange(0, 400), lambda r: r.randrange(1, 40), lambda r: r.randrange(0, 12),
       lambda r: optional(r, 0.3, f", {r.randrange(1, 5)} failed", ", <*> failed"))

    return S


def main():
    make_extra.LINES = 1500
    write("MediaApp", media_app(), 1206)


if __name__ == "__main__":
    main()
