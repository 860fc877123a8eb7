#!/usr/bin/env python3
"""Writes HomeApp, a third labelled log kept OUT of the miner's development (issue 12,
fourth round): the logging of a smart-home app and the local hub it talks to (an
Android app, a hub on the home network reached over a websocket and found by mDNS,
Zigbee, Thread, Matter and Wi-Fi devices, automations and scenes, schedules, cameras,
firmware updates, energy reports, cloud integrations), 1,500 lines in the Loghub-2k
layout.

    python3 bench/logs/extra/make_held_out_home.py [OUT_DIR]

Made the way make_held_out_chat.py made ChatApp (statements written after what such an
app and hub print, each field drawn by a function, `Fixed` where a printed phrase such
as an error reason is part of the template, as Loghub's labels keep it), for a kind of
log none of the other logs covers. Its values carry what such logs carry: device and
room names that users gave, of one to four words (`Living Room Lamp`, `Kitchen`,
`Front Door Lock`), some at the start of a message; automation and scene names in
quotes; lists of names of any length; optional parts (a trailing `(via hub)`, a
temperature with or without its unit); plural words that follow a count; hex ids,
IP addresses and ports, MAC and EUI-64 addresses; versions, sizes, durations;
key=value messages and `[Tag]` prefixes. It was written and scored before the miner
change of the fourth round and is never part of `accord-bench ga`'s choice: it is
scored only with ga.py (bench/logs/held_out_ga.sh), once before and once after that
change. Fixed seed; the output is committed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import Fixed, Part, fixed, hexid, ip, kept_word, mac, ms, pick, some, write  # noqa: E402
import make_extra  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def took(r):
    """A duration up to half an hour (an update over the air takes minutes)."""
    return make_extra.took(r, 30)

LIGHTS = ["Living Room Lamp", "Desk Lamp", "Porch Light", "Kids Room Night Light", "Ceiling",
          "Kitchen", "Hallway Spots", "Bedside Lamp Left", "Garden Lights", "Stairs"]
PLUGS = ["Office Plug", "Fridge Plug", "TV", "Washing Machine", "Coffee Maker", "Heater",
         "Bedroom AC", "Dishwasher"]
SENSORS = ["Hallway Motion Sensor", "Water Leak Sensor", "Smoke Alarm Upstairs", "Bathroom",
           "Back Door Contact", "Garage Door", "Nursery Climate", "Outdoor Sensor"]
LOCKS = ["Front Door Lock", "Back Door", "Garage Side Door Lock"]
THERMOSTATS = ["Thermostat", "Downstairs Thermostat", "Bedroom Radiator", "Office TRV"]
CAMERAS = ["Back Yard Camera", "Doorbell", "Nanny Cam", "Driveway", "Garage Cam"]
DEVICES = LIGHTS + PLUGS + SENSORS + LOCKS + THERMOSTATS + CAMERAS
BATTERY = SENSORS + LOCKS + ["Office TRV", "Bedroom Radiator", "Doorbell", "Remote", "Kitchen Button"]
ROOMS = ["Kitchen", "Living Room", "Master Bedroom", "Garage", "Office", "Kids Room", "Hallway",
         "Bathroom", "Back Yard", "Basement", "Dining Room", "Guest Room Upstairs"]
AUTOMATIONS = ["Good Night", "Morning Routine", "Away Mode", "Lights Off at Midnight",
               "Welcome Home", "Leak Alert", "Vacation", "Movie Time", "Wake up kids 🌞",
               "Heating schedule (winter)"]
SCENES = ["Movie Night", "Dinner", "Relax", "Bright", "All Off", "Reading", "Party 🎉",
          "Cozy Evening"]
HUBS = ["Home Hub", "hub-3fa2c1", "Casa", "Smith Family Hub"]
PEOPLE = ["Anna", "Tom Becker", "Grandpa", "Lea", "Marco Rossi"]
PHONES = ["Anna's Pixel 7", "Tom's iPhone", "Lea", "Kitchen Tablet", "Grandpa's Galaxy"]
SERVICES = ["Google Home", "Amazon Alexa", "SmartThings", "IFTTT", "Spotify", "Netatmo"]
SSIDS = ["HomeNet", "FRITZ!Box 7590", "Casa-IoT", "Smith Family 2.4GHz", "linksys"]
MODELS = [("IKEA of Sweden", "TRADFRI bulb E27 WS opal 1000lm"), ("LUMI", "lumi.sensor_wleak.aq1"),
          ("Philips", "LCT015"), ("Aqara", "MCCGQ11LM"), ("Signify Netherlands B.V.", "Hue motion sensor"),
          ("_TZ3000_gjnozsaz", "TS011F"), ("SONOFF", "SNZB-02")]
TRIGGERS = ["Sunset", "Sunrise", "time 22:30", "time 06:45", "Front Door Lock unlocked",
            "Hallway Motion Sensor motion", "everyone left", "Anna arrived home",
            "voice command", "Water Leak Sensor wet"]
# A trigger is one of the kinds the engine knows, with a device's or a person's name in
# some: the kind is text, the name a value (bench/logs/LABELLING.md, rules 3 and 5).
TRIGGER_LABELS = {"Sunset": "Sunset", "Sunrise": "Sunrise", "time 22:30": "time <*>",
                  "time 06:45": "time <*>", "Front Door Lock unlocked": "<*> unlocked",
                  "Hallway Motion Sensor motion": "<*> motion", "everyone left": "everyone left",
                  "Anna arrived home": "<*> arrived home", "voice command": "voice command",
                  "Water Leak Sensor wet": "<*> wet"}


def device(r):
    return pick(r, DEVICES)


def room(r):
    return pick(r, ROOMS)




def ago(r):
    return pick(r, [f"{r.randrange(5, 59)}s", f"{r.randrange(1, 59)}m {r.randrange(0, 59)}s",
                    f"{r.randrange(1, 23)}h {r.randrange(0, 59)}m", f"{r.randrange(1, 9)} days"])


def size(r):
    return pick(r, [f"{r.randrange(100, 999)} KB", f"{r.randrange(1, 40)}.{r.randrange(10)} MB"])


def counted(n, word, words=None):
    """A count and its word, singular or plural: two templates (LABELLING.md rule 4)."""
    w = word if n == 1 else words or word + "s"
    return Part(f"{n} {w}", f"<*> {w}")



def names(xs, lo=1, hi=4):
    return lambda r: ", ".join(some(r, xs, lo, hi))


def eui64(r):
    return ":".join(f"{r.randrange(256):02x}" for _ in range(8))


def ieee(r):
    return f"0x{hexid(r, 16)}"


def port(r):
    return pick(r, [8443, 8443, 8080, 443, r.randrange(30000, 60000)])


def version(r):
    return pick(r, [f"{r.randrange(1, 4)}.{r.randrange(0, 20)}.{r.randrange(0, 30)}",
                    f"v{r.randrange(1, 3)}.{r.randrange(0, 9)}.{r.randrange(0, 9)}-rc{r.randrange(1, 4)}",
                    f"0x{hexid(r, 8)}", str(r.randrange(100, 300))])


def temperature(r):
    """A temperature with or without its unit: the unit is an optional part, and °C or °F
    a word of a fixed set (LABELLING.md rules 3 and 4)."""
    t = f"{r.randrange(15, 28)}.{r.randrange(10)}"
    return pick(r, [t, t, Part(f"{t}°C", "<*>°C"), Part(f"{t} °C", "<*> °C"),
                    Part(f"{r.randrange(60, 80)}°F", "<*>°F")])


def home_app():
    S = []
    last = [None]  # what a line drew for one field, so the next fields match it

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # The hub: discovery and the websocket to it.
    st(10, "I", "HubConnection", "connecting to hub {} at wss://{}:{}/api/v2 (attempt {})",
       lambda r: pick(r, HUBS), ip, port, lambda r: r.randrange(1, 6))
    st(9, "I", "HubConnection", "connected to {} ({}:{}) in {} ms, api {}, {} paired",
       lambda r: pick(r, HUBS), ip, port, ms, lambda r: pick(r, ["2.4", "2.5", "3.0-beta"]),
       lambda r: counted(r.randrange(1, 60), "device"))
    st(7, "W", "HubConnection", "websocket closed (code {}): {}; reconnecting in {}s",
       lambda r: pick(r, [1001, 1006, 1011]),
       fixed(["ping timeout", "hub is restarting"]), lambda r: r.randrange(1, 60))
    st(40, "V", "HubConnection", "pong from hub in {} ms", ms)
    st(8, "D", "Discovery", "mDNS: resolved _accordhub._tcp \"{}\" at {}:{} (txt id={} fw={})",
       lambda r: pick(r, HUBS), ip, port, lambda r: hexid(r, 6), version)
    st(5, "I", "Discovery", "discovery finished in {} ms: {}", ms,
       lambda r: pick(r, [Fixed("no hubs found"), counted(r.randrange(1, 4), "hub")]))
    # Device state.
    st(60, "I", "DeviceState", "{} turned {}{}", lambda r: pick(r, LIGHTS + PLUGS),
       fixed(["on", "off"]), fixed(["", "", " (via hub)", " (via cloud)"]))
    st(40, "I", "DeviceState", "{} brightness {}%{}", lambda r: pick(r, LIGHTS),
       lambda r: pick(r, [0, 100, r.randrange(1, 100)]),
       lambda r: pick(r, [Fixed(""), Fixed(""), Part(f", transition {r.randrange(0, 2000)} ms", ", transition <*> ms")]))
    st(35, "D", "DeviceState", "{} reported temperature {}", lambda r: pick(r, SENSORS + THERMOSTATS),
       temperature)
    st(18, "D", "DeviceState", "{} battery {}%", lambda r: pick(r, BATTERY), lambda r: r.randrange(1, 101))
    st(7, "W", "DeviceState", "battery low: {} at {}%, replace soon", lambda r: pick(r, BATTERY),
       lambda r: r.randrange(1, 15))
    st(12, "I", "DeviceState", "{} {} by {}", lambda r: pick(r, LOCKS), fixed(["locked", "unlocked"]),
       lambda r: pick(r, [Part(f"keypad code {r.randrange(1, 9)}", "keypad code <*>"),
                          Part(f"app ({pick(r, PEOPLE)})", "app (<*>)"), Fixed("auto-lock"), Fixed("key"),
                          Part(f"automation \"{pick(r, AUTOMATIONS)}\"", "automation \"<*>\"")]))
    st(10, "I", "Climate", "{} set to {} mode, target {}", lambda r: pick(r, THERMOSTATS),
       fixed(["heat", "cool", "auto", "eco", "off"]), temperature)
    st(14, "D", "Climate", "climate {} hvac_action={} current={} target={} humidity={}%",
       lambda r: pick(r, THERMOSTATS), fixed(["heating", "idle", "cooling", "off"]),
       temperature, temperature, lambda r: r.randrange(25, 80))
    st(6, "W", "Sensors", "{} in {} detected {}", lambda r: pick(r, SENSORS), room,
       fixed(["a water leak", "smoke"]))
    st(10, "W", "DeviceRegistry", "{} went offline (last seen {} ago)", device, ago)
    st(8, "I", "DeviceRegistry", "{} is back online after {}", device, ago)
    # Radios: Zigbee, Thread, Matter, Wi-Fi.
    st(30, "D", "ZigbeeBridge", "attr report nwk=0x{} ep={} cluster=0x{} attr=0x{} value={}",
       lambda r: hexid(r, 4), lambda r: r.randrange(1, 4),
       lambda r: pick(r, ["0006", "0008", "0402", "0405", "0001", "0b04", "0500"]),
       lambda r: pick(r, ["0000", "0021", "0020", "050b"]),
       lambda r: pick(r, [r.randrange(0, 256), r.randrange(-500, 3000), "true", "false"]))
    st(6, "I", "ZigbeeBridge", "device joined: ieee={} nwk=0x{} manufacturer={} model={}",
       ieee, lambda r: hexid(r, 4), lambda r: last.__setitem__(0, pick(r, MODELS)) or last[0][0],
       lambda r: last[0][1])
    st(8, "W", "ZigbeeBridge", "no response from {} ({}) after {}", device, ieee,
       lambda r: counted(r.randrange(1, 5), "retry", "retries"))
    st(6, "D", "ThreadNetwork", "[OTBR] child {} attached to router 0x{}, link quality {}",
       eui64, lambda r: hexid(r, 4), lambda r: r.randrange(0, 4))
    st(5, "I", "MatterController", "commissioning {} (discriminator {}, vendor 0x{}, product 0x{}) over {}",
       device, lambda r: r.randrange(0, 4096), lambda r: hexid(r, 4).upper(), lambda r: hexid(r, 4).upper(),
       fixed(["BLE", "Wi-Fi", "Thread"]))
    st(4, "I", "MatterController", "commissioned node 0x{} as \"{}\" in {} ({})", lambda r: hexid(r, 16).upper(),
       device, room, took)
    st(4, "E", "MatterController", "commissioning of {} failed: {}", device,
       fixed(["PASE session timed out", "device is already on another fabric"]))
    st(6, "I", "Pairing", "[Wi-Fi] {} joined {} as {} (mac {}, RSSI {} dBm)", device,
       lambda r: pick(r, SSIDS), ip, mac, lambda r: -r.randrange(35, 90))
    # Rooms.
    st(6, "I", "RoomManager", "{} has {}: {}", room, lambda r: counted(r.randrange(1, 5), "device"),
       names(DEVICES))
    # Automations, scenes, schedules.
    st(25, "I", "AutomationEngine", "automation \"{}\" triggered by {}", lambda r: pick(r, AUTOMATIONS),
       lambda r: (lambda t: Part(t, TRIGGER_LABELS[t]))(pick(r, TRIGGERS)))
    st(20, "D", "AutomationEngine", "automation \"{}\" ran {} in {} ms", lambda r: pick(r, AUTOMATIONS),
       lambda r: counted(r.randrange(1, 7), "action"), ms)
    st(8, "I", "AutomationEngine", "automation \"{}\" skipped: {}", lambda r: pick(r, AUTOMATIONS),
       fixed(["condition not met", "already running"]))
    st(5, "E", "AutomationEngine", "action {} of \"{}\" failed on {}: {}", lambda r: r.randrange(1, 6),
       lambda r: pick(r, AUTOMATIONS), device, fixed(["device offline", "command timed out"]))
    st(14, "I", "SceneManager", "scene \"{}\" activated: {}{}", lambda r: pick(r, SCENES),
       names(LIGHTS + PLUGS + ["Window Blinds Left", "Sonos Move"], 1, 6),
       fixed(["", " (via hub)"]))
    st(7, "D", "Scheduler", "schedule {} \"{}\" next run {} ({})", lambda r: hexid(r, 8),
       lambda r: pick(r, AUTOMATIONS),
       lambda r: f"2025-03-{r.randrange(1, 29):02d} {r.randrange(0, 24):02d}:{pick(r, ['00', '15', '30', '45'])}",
       lambda r: pick(r, [Fixed("every day"), Fixed("weekdays"), Fixed("weekends"),
                          ", ".join(some(r, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], 1, 5))]))
    st(9, "I", "Scheduler", "schedule fired id={} target={} action={} late={}ms", lambda r: hexid(r, 8),
       lambda r: pick(r, [d.replace(" ", "_").lower() for d in LIGHTS + PLUGS]),
       lambda r: Fixed(pick(r, ["turn_on", "turn_off", f"set_level:{r.randrange(1, 100)}", "toggle"])), ms)
    st(5, "I", "Security", "[Security] system {} by {}", fixed(["armed (away)", "disarmed"]),
       lambda r: pick(r, PEOPLE + [Fixed("keypad"),
                                   Part(f"automation \"{pick(r, AUTOMATIONS)}\"", "automation \"<*>\"")]))
    # Cameras.
    st(10, "I", "CameraStream", "{}: stream started {}@{}fps, {} kbps, {}", lambda r: pick(r, CAMERAS),
       lambda r: pick(r, ["1920x1080", "1280x720", "2560x1440", "640x360"]), lambda r: pick(r, [15, 20, 25, 30]),
       lambda r: r.randrange(300, 6000), kept_word(["H.264", "H.265"]))
    st(9, "D", "CameraStream", "{}: bitrate {} -> {} kbps (rtt {} ms, loss {}%)", lambda r: pick(r, CAMERAS),
       lambda r: r.randrange(300, 6000), lambda r: r.randrange(300, 6000), ms,
       lambda r: f"{r.randrange(0, 15)}.{r.randrange(10)}")
    st(8, "I", "CameraStream", "motion detected by {} in zones [{}], clip {} ({} s)", lambda r: pick(r, CAMERAS),
       names(["Driveway", "Porch", "Street", "Garden", "Gate", "Pool"]), lambda r: hexid(r, 10),
       lambda r: r.randrange(5, 60))
    st(5, "W", "CameraStream", "{}: stream stopped: {}", lambda r: pick(r, CAMERAS),
       fixed(["RTSP session timed out", "camera went offline"]))
    # Firmware.
    st(6, "I", "FirmwareUpdater", "update available for {}: {} -> {} ({})", device, version, version, size)
    st(16, "D", "FirmwareUpdater", "[OTA] {}: {}% ({} of {} bytes)", device,
       lambda r: last.__setitem__(0, (r.randrange(0, 101), r.randrange(200000, 900000))) or last[0][0],
       lambda r: last[0][0] * last[0][1] // 100, lambda r: last[0][1])
    st(5, "I", "FirmwareUpdater", "[OTA] {} updated to {} in {}", device, version, took)
    st(3, "E", "FirmwareUpdater", "[OTA] {} update failed at {}%: {}", device, lambda r: r.randrange(1, 100),
       fixed(["image checksum mismatch", "battery too low (below 50%)"]))
    # Energy.
    st(8, "I", "EnergyMonitor", "energy report for {}: {} kWh today, {} W now, cost {}",
       lambda r: pick(r, PLUGS), lambda r: f"{r.randrange(0, 12)}.{r.randrange(100):02d}", lambda r: r.randrange(0, 2500),
       lambda r: pick(r, [Part(f"€{r.randrange(0, 4)}.{r.randrange(100):02d}", "€<*>"),
                          Part(f"${r.randrange(0, 4)}.{r.randrange(100):02d}", "$<*>")]))
    st(3, "I", "EnergyMonitor", "daily summary: {} kWh total, top consumers: {}",
       lambda r: f"{r.randrange(3, 40)}.{r.randrange(10)}",
       lambda r: ", ".join(f"{p} {r.randrange(0, 9)}.{r.randrange(10)} kWh" for p in some(r, PLUGS, 1, 4)))
    # Cloud integrations and notifications.
    st(4, "I", "CloudAuth", "OAuth: linked {} account {} (scopes: {})", lambda r: pick(r, SERVICES),
       lambda r: pick(r, ["anna.becker@gmail.com", "tom@example.org", "smith.family", "marco.rossi@outlook.com"]),
       lambda r: " ".join(some(r, ["devices.read", "devices.write", "scenes", "offline_access", "profile"], 1, 4)))
    st(7, "D", "CloudAuth", "access token for {} refreshed, expires in {}s", lambda r: pick(r, SERVICES),
       lambda r: pick(r, [3600, 3599, 86400, r.randrange(600, 7200)]))
    st(4, "W", "CloudAuth", "token refresh for {} failed: {}", lambda r: pick(r, SERVICES),
       fixed(["invalid_grant", "HTTP 503 Service Unavailable"]))
    st(10, "I", "Notifications", "push sent to {}: \"{}\"", names(PHONES, 1, 3),
       lambda r: pick(r, [Part(f"{pick(r, LOCKS)} was unlocked", "<*> was unlocked"),
                          Part(f"Water leak detected in {room(r)}", "Water leak detected in <*>"),
                          Part(f"Motion at the {pick(r, ['front door', 'back yard', 'garage'])}", "Motion at the <*>"),
                          Part(f"{device(r)} is offline", "<*> is offline"),
                          Part(f"Scene {pick(r, SCENES)} activated", "Scene <*> activated"),
                          Fixed("Welcome home!")]))
    st(5, "I", "HomeActivity", "dashboard loaded in {} ms: {} rooms, {} devices, {} favorites", ms,
       lambda r: r.randrange(2, 12), lambda r: r.randrange(2, 60), lambda r: r.randrange(0, 9))
    return S


if __name__ == "__main__":
    make_extra.OUT = OUT
    make_extra.LINES = 1500
    write("HomeApp", home_app(), 17)
