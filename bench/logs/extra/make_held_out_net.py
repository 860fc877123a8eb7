#!/usr/bin/env python3
"""Writes NetOffice, a never-tuned labelled log (issue 12, seventh round): the aggregated
syslog of a small company's on-premises network and storage as its admin sees it (an
edge router and a core switch, a host firewall's kernel packet lines, a DHCP server, a
DNS forwarder, a RADIUS server, a NAS with ZFS, SMART, Samba, NFS and backups, a UPS
daemon and an IPsec VPN concentrator), 1,500 lines in the Loghub-2k layout.

    python3 bench/logs/extra/make_held_out_net.py [OUT_DIR]

Labelled by bench/logs/LABELLING.md: values `<*>`; words and phrases from a small set the
program defines (states, results, protocols, directions, reasons) kept as text with
`Fixed`, so each is a template of its own; optional parts with `Part` (their words kept,
their values `<*>`, nothing when absent). Fixed seed, deterministic; output committed.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_extra  # noqa: E402
from make_extra import Fixed, Part, fixed, hexid, mac, pick, some, write  # noqa: E402

make_extra.OUT = sys.argv[1] if len(sys.argv) > 1 else HERE
make_extra.LINES = 1500


class B:
    """Builds a field whose text and label are made piece by piece: `text` is kept in the
    label, `val` is a value (`<*>`), `fix` is a word or phrase from a fixed set (kept,
    its numbers `<*>`)."""

    def __init__(self):
        self.t, self.l = [], []

    def text(self, s):
        self.t.append(s)
        self.l.append(s)
        return self

    def val(self, v):
        self.t.append(str(v))
        self.l.append("<*>")
        return self

    def fix(self, s):
        self.t.append(s)
        self.l.append(Fixed(s).template())
        return self

    def part(self):
        return Part("".join(self.t), "".join(self.l))


NONE = Part("", "")  # an optional part that is absent: nothing in the text or the label


def opt(r, p, text_fn):
    """An optional part present with probability p; text_fn(r) returns a Part or B."""
    if r.random() < p:
        x = text_fn(r)
        return x.part() if isinstance(x, B) else x
    return NONE


def w(r, pairs):
    """Weighted choice over (item, weight) pairs."""
    items, weights = zip(*pairs)
    return r.choices(items, weights)[0]


# ---- values --------------------------------------------------------------------------

def pub_ip(r):
    return f"{pick(r, [45, 61, 77, 89, 91, 103, 141, 146, 162, 185, 193, 194, 212, 222])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def lan_ip(r):
    return f"192.168.{pick(r, [1, 1, 1, 20, 30])}.{r.randrange(2, 254)}"


def ip6(r):
    return f"2a0{r.randrange(10)}:{hexid(r, 4)}:{hexid(r, 3)}::{hexid(r, r.randrange(1, 5))}"


def port(r):
    return r.randrange(1024, 65535)


def lan_if(r):
    return pick(r, ["eth1", "eth1", "eth1.20", "eth1.30"])


HOSTS = ["anna-laptop", "reception", "boardroom-tv", "Marks-MacBook-Pro", "kitchen-tablet",
         "printer", "warehouse-scanner", "DESKTOP-4KQ7M1B", "iPhone", "Galaxy-Tab",
         "lisas-thinkpad", "accounts", "front-desk", "NPI3F2A1C", "android-7c1e09b2d4",
         "meeting-room-display", "tom-pc", "Priyas-iPad", "label-printer", "sonos-kitchen",
         "doorbell", "HP-OfficeJet", "workshop", "design-imac"]
USERS = ["anna", "mark", "jsmith", "lisa.meyer", "tom", "priya", "kowalski", "reception",
         "finance", "scanner", "backup", "admin", "guest", "deploy", "helga.brandt", "olu"]
SHARES = ["Finance", "Projects", "Scans", "Public", "Home Movies", "HR Confidential",
          "Software", "Marketing Assets", "homes", "Archive", "Customer Files"]
POOLS = ["tank", "vault", "coldstore", "media"]
RADIUS_CLIENTS = ["office-ap", "warehouse-ap", "boardroom-ap", "core-switch", "guest-portal",
                  "upstairs-ap", "vpn-gw"]
DOMAINS = ["www.google.com", "outlook.office365.com", "login.microsoftonline.com", "api.github.com",
           "time.windows.com", "updates.example-erp.com", "ocsp.digicert.com",
           "connectivitycheck.gstatic.com", "teams.microsoft.com", "zoom.us",
           "safebrowsing.googleapis.com", "www.dropbox.com", "banking.sparkasse.de",
           "cdn.jsdelivr.net", "fonts.gstatic.com", "ctldl.windowsupdate.com",
           "push.apple.com", "www.bbc.co.uk", "d1x9z3k7.cloudfront.net", "telemetry.printvendor.net",
           "pool.ntp.org", "imap.gmx.net", "graph.facebook.com", "s3.eu-central-1.amazonaws.com"]
LOCAL_NAMES = ["nas.office.lan", "printer.office.lan", "core-sw.office.lan", "ups.office.lan",
               "wiki.office.lan", "erp", "nas", "gw.office.lan"]
IF_DESCS = ["Uplink to ISP", "Server rack", "NAS bond", "Reception AP", "Boardroom",
            "Printer", "Warehouse switch", "Finance floor", "VoIP phones", "Camera NVR",
            "ESXi host A", "Spare"]
ACLS = ["OUTSIDE-IN", "GUEST-TO-LAN", "MGMT-ONLY", "101", "VOICE-FILTER", "IOT-BLOCK"]
CONNS = ["branch-office", "warehouse", "roadwarrior", "home-anna", "datacenter", "accountant"]
JOBS = ["Nightly Finance", "Projects to offsite", "Photos", "Mailbox archive", "Scans weekly",
        "vm images", "homes"]
UPSES = ["rack", "closet", "office"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def date_long(r):
    return f"{pick(r, DAYS)} Mar {r.randrange(1, 29):>2} {r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d} 2025"


def hms(r):
    return f"{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}"


def zsize(r):
    """A ZFS size: its unit chosen by magnitude (0B, 128K, 12.4M, 842G, 3.46T)."""
    return pick(r, ["0B", f"{r.randrange(1, 999)}K", f"{r.randrange(1, 999)}.{r.randrange(10)}M",
                    f"{r.randrange(1, 999)}G", f"{r.randrange(1, 9)}.{r.randrange(10, 99)}T"])


def zdur(r):
    return pick(r, [f"{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}",
                    f"{r.randrange(1, 3)} days {r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}"])


def dhcp_host(r):
    """The client's host name in parentheses: absent when the client sends none."""
    return opt(r, 0.7, lambda r: Part(f" ({pick(r, HOSTS)})", " (<*>)"))


def desc(r):
    """An interface description in parentheses: present when one is configured."""
    return opt(r, 0.65, lambda r: Part(f" ({pick(r, IF_DESCS)})", " (<*>)"))


def eos_if(r):
    return pick(r, [f"Ethernet{r.randrange(1, 49)}", f"Ethernet{r.randrange(1, 49)}", f"Port-Channel{r.randrange(1, 4)}"])


def ios_if(r):
    return pick(r, ["GigabitEthernet0/0", "GigabitEthernet0/1", f"GigabitEthernet0/1.{pick(r, [20, 30, 99])}",
                    "Dialer1", f"Tunnel{r.randrange(1, 20)}", "Cellular0/2/0"])


def user_any(r):
    u = pick(r, USERS)
    return pick(r, [u, u, f"{u}@office.lan", f"OFFICE\\{u}", f"host/{pick(r, HOSTS)}.office.lan"])


def radius_mac(r):
    return "-".join(f"{r.randrange(256):02X}" for _ in range(6))


def kmac(r):
    """The kernel's MAC= field: destination, source and ethertype."""
    return f"{mac(r)}:{mac(r)}:08:00"


def tcp_tail(r, dports, flags, window=True):
    b = B().text(" PROTO=TCP SPT=").val(port(r)).text(" DPT=").val(pick(r, dports))
    if window:
        b.text(" WINDOW=").val(pick(r, [1024, 29200, 64240, 65535, 14600, r.randrange(100, 65535)]))
    b.text(" RES=").val("0x00").text(" ").fix(w(r, flags)).text(" URGP=").val(0)
    return b


def udp_tail(r, dports):
    return B().text(" PROTO=UDP SPT=").val(pick(r, [53, 123, 5060, port(r), port(r)])).text(" DPT=").val(
        pick(r, dports)).text(" LEN=").val(r.randrange(16, 512))


def icmp_tail(r):
    return B().text(" PROTO=ICMP TYPE=").val(pick(r, [8, 8, 3, 11])).text(" CODE=").val(
        pick(r, [0, 0, 1, 3])).text(" ID=").val(r.randrange(1, 65535)).text(" SEQ=").val(r.randrange(1, 500))


def packet(r, protos, df_tcp, df_other, dports_tcp, dports_udp, flags):
    """From LEN= to the end: the optional DF and the protocol's own fields (TCP lines
    carry WINDOW= and flags, UDP lines a LEN=, ICMP lines TYPE= and CODE=, IGMP a bare
    protocol number)."""
    proto = w(r, protos)
    b = B().text("LEN=").val(r.randrange(28, 1500)).text(" TOS=").val(pick(r, ["0x00", "0x00", "0x08", "0x28"]))
    b.text(" PREC=").val(pick(r, ["0x00", "0x00", "0x20"])).text(" TTL=").val(r.randrange(30, 250))
    b.text(" ID=").val(r.randrange(0, 65535))
    if r.random() < (df_tcp if proto == "TCP" else df_other):
        b.text(" DF")
    if proto == "TCP":
        tail = tcp_tail(r, dports_tcp, flags)
    elif proto == "UDP":
        tail = udp_tail(r, dports_udp)
    elif proto == "ICMP":
        tail = icmp_tail(r)
    else:
        tail = B().text(" PROTO=").val(2)
    b.t += tail.t
    b.l += tail.l
    return b.part()


def uptime(r):
    return f"{r.randrange(100000, 2000000)}.{r.randrange(10**6):06d}"


def ike_id(r, addr):
    """An IKE identity: the peer's address, a host name or a certificate subject."""
    return pick(r, [addr, addr, "vpn.office.example", f"CN={pick(r, USERS)}", f"{pick(r, CONNS)}.office.example"])


def ts(r):
    nets = ["192.168.1.0/24", "192.168.20.0/24", "10.10.0.0/16", "10.20.30.0/24", "172.16.4.0/22"]
    return " ".join(some(r, nets, 1, 3)) if r.random() < 0.8 else f"10.8.0.{r.randrange(2, 250)}/32"


def spi(r):
    return hexid(r, 8)


def thread(r):
    return f"{r.randrange(1, 17):02d}"


def sa_pair(r):
    """`a[id]...b[id]`: two peers, each its address and its identity (often the same address)."""
    a, b = pub_ip(r), pub_ip(r)
    return B().val(a).text("[").val(ike_id(r, a)).text("]...").val(b).text("[").val(ike_id(r, b)).text("]").part()


# ---- the statements ------------------------------------------------------------------

def net_office():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # -- firewall: kernel packet log lines (ufw) --
    scan_tcp = [22, 23, 80, 443, 445, 1433, 3306, 3389, 5900, 8080, 8443, 6379, 2323]
    scan_udp = [53, 123, 161, 1900, 5060, 137, 500, 11211]
    st(190, "warning", "kernel", "[{}] [UFW BLOCK] IN={} OUT= MAC={} SRC={} DST={} {}",
       uptime, lambda r: pick(r, ["eth0", "eth0", "ppp0"]), kmac, pub_ip,
       lambda r: pick(r, ["203.0.113.10", "203.0.113.10", "203.0.113.11"]),
       lambda r: packet(r, [("TCP", 62), ("UDP", 28), ("ICMP", 8), ("IGMP", 2)], 0.35, 0.15,
                        scan_tcp, scan_udp, [("SYN", 90), ("ACK RST", 10)]))
    st(45, "warning", "kernel", "[{}] [UFW BLOCK] IN={} OUT={} MAC={} SRC={} DST={} {}",
       uptime, lan_if, lambda r: pick(r, ["eth0", "wg0"]), kmac, lan_ip, pub_ip,
       lambda r: packet(r, [("TCP", 70), ("UDP", 30)], 0.9, 0.6, [25, 445, 3389, 6667, 23],
                        [53, 123, 1900, 5353], [("SYN", 90), ("ACK PSH", 10)]))
    st(55, "info", "kernel", "[{}] [UFW ALLOW] IN={} OUT= MAC={} SRC={} DST={} {}",
       uptime, lambda r: pick(r, ["eth0", "eth1", "wg0"]), kmac,
       lambda r: pick(r, [pub_ip(r), lan_ip(r)]), lambda r: pick(r, ["203.0.113.10", "192.168.1.1"]),
       lambda r: packet(r, [("TCP", 75), ("UDP", 25)], 0.95, 0.5, [443, 22, 1194, 8443],
                        [500, 4500, 51820, 1194], [("SYN", 100)]))
    st(18, "warning", "kernel", "[{}] [UFW LIMIT BLOCK] IN={} OUT= MAC={} SRC={} DST={} {}",
       uptime, lambda r: "eth0", kmac, pub_ip, lambda r: "203.0.113.10",
       lambda r: packet(r, [("TCP", 1)], 0.7, 0, [22], [], [("SYN", 1)]))
    st(12, "warning", "kernel", "[{}] [UFW BLOCK] IN= OUT={} SRC={} DST={} {}",
       uptime, lambda r: pick(r, ["eth0", "eth1"]), lambda r: pick(r, ["203.0.113.10", "192.168.1.1"]),
       lambda r: pick(r, [pub_ip(r), "239.255.255.250", "224.0.0.251"]),
       lambda r: packet(r, [("UDP", 80), ("TCP", 20)], 1.0, 0.3, [25, 4444], [1900, 5353, 123], [("SYN", 1)]))

    # -- DHCP server (ISC dhcpd) --
    st(50, "info", "dhcpd", "DHCPDISCOVER from {}{} via {}", mac, dhcp_host, lan_if)
    st(45, "info", "dhcpd", "DHCPOFFER on {} to {}{} via {}", lan_ip, mac, dhcp_host, lan_if)
    st(65, "info", "dhcpd", "DHCPREQUEST for {}{} from {}{} via {}", lan_ip,
       lambda r: opt(r, 0.35, lambda r: Part(" (192.168.1.1)", " (<*>)")), mac, dhcp_host, lan_if)
    st(65, "info", "dhcpd", "DHCPACK on {} to {}{} via {}", lan_ip, mac, dhcp_host, lan_if)
    st(6, "info", "dhcpd", "DHCPNAK on {} to {} via {}", lan_ip, mac, lan_if)
    st(9, "info", "dhcpd", "DHCPRELEASE of {} from {}{} via {} ({})", lan_ip, mac, dhcp_host, lan_if,
       lambda r: Fixed(w(r, [("found", 8), ("not found", 2)])))
    st(14, "info", "dhcpd", "reuse_lease: lease age {} (secs) under 25% threshold, reply with unaltered, existing lease for {}",
       lambda r: r.randrange(30, 20000), lan_ip)
    st(4, "err", "dhcpd", "DHCPDISCOVER from {} via {}: network {}: no free leases", mac,
       lambda r: "eth1.30", lambda r: "192.168.30.0/24")

    # -- DNS forwarder (dnsmasq) --
    qtype = lambda r: Fixed(w(r, [("A", 60), ("AAAA", 25), ("HTTPS", 8), ("PTR", 5), ("SRV", 2)]))
    st(110, "info", "dnsmasq", "query[{}] {} from {}", qtype,
       lambda r: pick(r, DOMAINS + ["wpad.office.lan", "nas.office.lan", "_ldap._tcp.dc._msdcs.office.lan"]), lan_ip)
    st(65, "info", "dnsmasq", "forwarded {} to {}", lambda r: pick(r, DOMAINS),
       lambda r: pick(r, ["1.1.1.1", "9.9.9.9", "8.8.8.8", "2606:4700:4700::1111"]))

    def answer(r):
        kind = w(r, [("ip", 60), ("ip6", 12), ("<CNAME>", 13), ("NXDOMAIN", 10), ("NODATA-IPv6", 5)])
        if kind == "ip":
            return pick(r, [pub_ip(r), f"{pick(r, [13, 20, 40, 52, 142, 151, 172])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"])
        if kind == "ip6":
            return ip6(r)
        return Fixed(kind)
    st(70, "info", "dnsmasq", "reply {} is {}", lambda r: pick(r, DOMAINS), answer)
    st(40, "info", "dnsmasq", "cached {} is {}", lambda r: pick(r, DOMAINS), answer)
    st(12, "info", "dnsmasq", "config {} is {}", lambda r: pick(r, LOCAL_NAMES), lambda r: f"192.168.1.{pick(r, [1, 2, 5, 10, 11, 50])}")
    st(2, "warning", "dnsmasq", "Maximum number of concurrent DNS queries reached (max: {})", lambda r: 150)

    # -- RADIUS / 802.1X (FreeRADIUS) --
    st(25, "info", "radiusd", "({}) Login OK: [{}] (from client {} port {}{}{})",
       lambda r: r.randrange(0, 5000), user_any, lambda r: pick(r, RADIUS_CLIENTS), lambda r: pick(r, [0, 0, r.randrange(1, 49)]),
       lambda r: opt(r, 0.75, lambda r: Part(f" cli {radius_mac(r)}", " cli <*>")),
       lambda r: opt(r, 0.4, lambda r: Part(" via TLS tunnel", " via TLS tunnel")))
    st(12, "notice", "radiusd", "({}) Login incorrect ({}): [{}] (from client {} port {} cli {})",
       lambda r: r.randrange(0, 5000),
       fixed(["mschap: MS-CHAP2-Response is incorrect",
              "eap_peap: The users session was previously rejected: returning reject (again.)",
              "No Auth-Type found: rejecting the user via Post-Auth-Type = Reject",
              "eap_tls: TLS Alert read:fatal:unknown CA"]),
       user_any, lambda r: pick(r, RADIUS_CLIENTS), lambda r: pick(r, [0, r.randrange(1, 49)]), radius_mac)
    st(4, "err", "radiusd", "Ignoring request to auth address * port 1812 bound to server default from unknown client {} port {} proto udp",
       lan_ip, port)

    # -- core switch (Arista EOS agents) --
    st(30, "notice", "Ebra", "%LINEPROTO-5-UPDOWN: Line protocol on Interface {}{}, changed state to {}",
       eos_if, desc, lambda r: Fixed(pick(r, ["up", "down"])))
    st(20, "info", "Stp", "%SPANTREE-6-INTERFACE_STATE: Interface {} instance {} moving from {}",
       eos_if, lambda r: pick(r, ["MST0", "MST0", "MST1"]),
       fixed(["discarding to learning", "learning to forwarding", "forwarding to discarding"]))
    st(8, "notice", "Stp", "%SPANTREE-5-TOPOTRAP: Topology Change Trap for {}",
       lambda r: pick(r, [Part(f"vlan {pick(r, [1, 20, 30, 99])}", "vlan <*>"), Part(f"instance {pick(r, [0, 1])}", "instance <*>")]))
    st(8, "notice", "LacpAgent", "%LACP-6-MEMBER_JOINED: Interface {}{} joined {}",
       lambda r: f"Ethernet{r.randrange(45, 49)}", desc, lambda r: f"Port-Channel{r.randrange(1, 4)}")
    st(7, "warning", "LacpAgent", "%LACP-4-MEMBER_REMOVED: Interface {}{} removed from {}: {}",
       lambda r: f"Ethernet{r.randrange(45, 49)}", desc, lambda r: f"Port-Channel{r.randrange(1, 4)}",
       fixed(["LACP timeout expired", "link down", "partner system id changed"]))

    # -- edge router (IOS) --
    def packets(r):
        n = pick(r, [1, 1, 1, r.randrange(2, 40)])
        return Part("1 packet", "<*> packet") if n == 1 else Part(f"{n} packets", "<*> packets")
    st(40, "info", "edge-rtr", "%SEC-6-IPACCESSLOGP: list {} denied {} {}({}) -> {}({}), {}",
       lambda r: pick(r, ACLS), lambda r: Fixed(w(r, [("tcp", 7), ("udp", 3)])), lambda r: pick(r, [pub_ip(r), lan_ip(r)]),
       port, lambda r: pick(r, ["203.0.113.10", lan_ip(r)]), lambda r: pick(r, [22, 23, 445, 3389, 53, 161, 8080]), packets)
    st(8, "info", "edge-rtr", "%SEC-6-IPACCESSLOGDP: list {} denied icmp {} -> {} ({}/{}), {}",
       lambda r: pick(r, ACLS), pub_ip, lambda r: "203.0.113.10", lambda r: pick(r, [8, 8, 3, 13]), lambda r: 0, packets)
    st(12, "err", "edge-rtr", "%SNMP-3-AUTHFAIL: Authentication failure for SNMP req from host {}",
       lambda r: pick(r, [lan_ip(r), pub_ip(r)]))
    st(8, "notice", "edge-rtr", "%SYS-5-CONFIG_I: Configured from console by {}",
       lambda r: pick(r, [Part(f"{pick(r, ['admin', 'mark', 'netops'])} on vty{r.randrange(0, 5)} ({lan_ip(r)})", "<*> on <*> (<*>)"),
                          Part(f"{pick(r, ['admin', 'mark', 'netops'])} on vty{r.randrange(0, 5)} ({lan_ip(r)})", "<*> on <*> (<*>)"),
                          Fixed("console")]))
    st(6, "warning", "edge-rtr", "%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: {}] [Source: {}] [localport: {}] [Reason: {}] at {} UTC {}",
       lambda r: pick(r, ["admin", "cisco", "root", "mark", "support"]), lambda r: pick(r, [lan_ip(r), pub_ip(r)]),
       lambda r: 22, fixed(["Login Authentication Failed", "Login Authentication Failed", "Invalid login"]),
       lambda r: f"{hms(r)}.{r.randrange(1000):03d}", lambda r: f"{pick(r, DAYS)} Mar {r.randrange(1, 29)} 2025")
    st(10, "notice", "edge-rtr", "%BGP-5-ADJCHANGE: neighbor {} {}",
       lambda r: pick(r, ["198.51.100.1", "198.51.100.5", "2001:db8:0:1::1"]),
       lambda r: Fixed(w(r, [("Up", 5), ("Down Hold timer expired", 2), ("Down Peer closed the session", 2),
                             ("Down Interface flap", 1), ("Down BGP Notification sent", 1)])))
    st(12, "notice", "edge-rtr", "%OSPF-5-ADJCHG: Process {}, Nbr {} on {} from {}",
       lambda r: 1, lambda r: pick(r, ["10.255.0.1", "10.255.0.2", "10.255.0.6"]), ios_if,
       lambda r: Fixed(w(r, [("LOADING to FULL, Loading Done", 5),
                             ("FULL to DOWN, Neighbor Down: Dead timer expired", 3),
                             ("FULL to DOWN, Neighbor Down: Interface down or detached", 2),
                             ("EXSTART to DOWN, Neighbor Down: Too many retransmissions", 1)])))
    st(14, "err", "edge-rtr", "%LINK-3-UPDOWN: Interface {}, changed state to {}", ios_if,
       lambda r: Fixed(pick(r, ["up", "down"])))
    st(4, "notice", "edge-rtr", "%NTP-5-PEERSYNC: NTP synced to peer {}",
       lambda r: pick(r, ["192.53.103.108", "131.188.3.220", "162.159.200.1"]))

    # -- NAS: ZFS --
    def zed_event(r):
        cls = w(r, [("scrub_start", 4), ("scrub_finish", 4), ("resilver_start", 1), ("resilver_finish", 1),
                    ("history_event", 5), ("statechange", 2)])
        b = B().text("class=").fix(cls).text(" pool='").val(pick(r, POOLS)).text("'")
        if cls == "statechange":
            b.text(" vdev=").val(pick(r, ["ata-WDC_WD40EFRX-68N32N0_WD-WCC7K4XJ2P7L-part1",
                                         "ata-ST4000VN008-2DR166_ZDH8A1QX-part1", "sdd1"]))
            b.text(" vdev_state=").fix(pick(r, ["FAULTED", "ONLINE"]))
        return b.part()
    st(18, "info", "zed", "eid={} {}", lambda r: r.randrange(1, 900), zed_event)
    st(6, "info", "nas-health", "pool {}: scan: {} {} in {} with {} errors on {}",
       lambda r: pick(r, POOLS), lambda r: Fixed(w(r, [("scrub repaired", 3), ("resilvered", 1)])),
       zsize, zdur, lambda r: pick(r, [0, 0, 0, r.randrange(1, 30)]), date_long)

    def progress(r):
        kind = w(r, [("scrub", 3), ("resilver", 1)])
        total = r.randrange(120, 900) / 100
        done = r.uniform(0.01, 0.99)
        b = B().fix(kind).text(" in progress since ").val(date_long(r)).text(", ").val(f"{total * done * 1.1:.2f}T")
        b.text(" scanned at ").val(f"{r.randrange(100, 900)}M/s").text(", ").val(f"{int(total * done * 1000)}G").text(" issued at ")
        b.val(f"{r.randrange(80, 700)}M/s").text(", ").val(f"{total:.2f}T").text(" total, ")
        b.val(pick(r, ["0B", "0B", "0B", f"{r.randrange(1, 900)}K"]) if kind == "scrub" else f"{int(total * done * 330)}G").text(" ")
        b.fix("repaired" if kind == "scrub" else "resilvered").text(", ")
        b.val(f"{done * 100:.2f}").text("% done, ")
        if r.random() < 0.75:
            b.val(zdur(r)).text(" to go")
        else:
            b.text("no estimated completion time")
        return b.part()
    st(10, "info", "nas-health", "pool {}: scan: {}", lambda r: pick(r, POOLS), progress)
    st(5, "warning", "middlewared", "Pool {} state is {}", lambda r: pick(r, POOLS[:2]), fixed([
        "DEGRADED: One or more devices could not be used because the label is missing or invalid. Sufficient replicas exist for the pool to continue functioning in a degraded state.",
        "DEGRADED: One or more devices are faulted in response to persistent errors. Sufficient replicas exist for the pool to continue functioning in a degraded state.",
        "ONLINE: One or more devices is currently being resilvered. The pool will continue to function, possibly in a degraded state.",
        "ONLINE: Some supported and requested features are not enabled on the pool. The pool can still be used, but some features are unavailable."]))

    # -- NAS: SMART --
    disk = lambda r: f"/dev/sd{pick(r, 'abcdef')}"
    def from_to(r):
        a = r.randrange(25, 200)
        return B().val(a).text(" to ").val(max(1, a + pick(r, [-3, -2, -1, 1, 1, 2, 4]))).part()
    st(30, "info", "smartd", "Device: {} [SAT], SMART {} changed from {}", disk,
       lambda r: Fixed(w(r, [("Usage Attribute: 194 Temperature_Celsius", 8), ("Usage Attribute: 190 Airflow_Temperature_Cel", 3),
                             ("Prefailure Attribute: 1 Raw_Read_Error_Rate", 3), ("Prefailure Attribute: 7 Seek_Error_Rate", 1),
                             ("Prefailure Attribute: 3 Spin_Up_Time", 1)])),
       from_to)
    st(8, "crit", "smartd", "Device: {} [SAT], {} {}{}", disk, lambda r: r.randrange(1, 64),
       fixed(["Currently unreadable (pending) sectors", "Offline uncorrectable sectors"]),
       lambda r: opt(r, 0.5, lambda r: Part(f" (changed +{r.randrange(1, 16)})", " (changed +<*>)")))

    def smart_dev(r):
        if r.random() < 0.75:
            return Part(f"{disk(r)} [SAT]", "<*> [SAT]")
        return f"/dev/nvme{r.randrange(0, 2)}"
    st(9, "warning", "smartd", "Device: {}, Temperature {} Celsius reached {} of {} Celsius (Min/Max {}/{}{})",
       smart_dev, lambda r: r.randrange(45, 62), lambda r: Fixed(w(r, [("limit", 3), ("critical limit", 1)])),
       lambda r: pick(r, [45, 50, 55]), lambda r: r.randrange(18, 30), lambda r: r.randrange(45, 62),
       lambda r: opt(r, 0.4, lambda r: Part("!", "!")))

    # -- NAS: Samba and NFS --
    st(25, "info", "smbd", "{} (ipv4:{}:{}) connect to service {} initially as user {} (uid={}, gid={}) (pid {})",
       lambda r: pick(r, HOSTS), lan_ip, port, lambda r: pick(r, SHARES), lambda r: pick(r, USERS),
       lambda r: r.randrange(1000, 1030), lambda r: pick(r, [100, 1000, 1001, 3000]), lambda r: r.randrange(1000, 60000))
    st(8, "notice", "smbd", "check_ntlm_password:  Authentication for user [{}] -> [{}] FAILED with error {}, authoritative={}",
       lambda r: pick(r, USERS), lambda r: pick(r, USERS),
       lambda r: Fixed(w(r, [("NT_STATUS_WRONG_PASSWORD", 6), ("NT_STATUS_NO_SUCH_USER", 3), ("NT_STATUS_ACCOUNT_LOCKED_OUT", 1)])),
       lambda r: 1)
    st(7, "notice", "smbd", "make_connection_snum: user '{}' (from session setup) not permitted to access this share ({})",
       lambda r: pick(r, USERS), lambda r: pick(r, SHARES))
    exports = ["/mnt/tank/projects", "/mnt/vault/home", "/mnt/tank/vm images", "/mnt/media/video", "/export/scans"]
    st(12, "info", "rpc.mountd", "authenticated mount request from {}:{} for {} ({})",
       lan_ip, lambda r: pick(r, [r.randrange(600, 1024), port(r)]),
       lambda r: pick(r, exports + ["/mnt/vault/home/anna", "/mnt/tank/projects/Kunde Meyer"]), lambda r: pick(r, exports))
    st(5, "warning", "rpc.mountd", "refused mount request from {} for {} ({}): {}",
       lambda r: pick(r, [lan_ip(r), f"10.8.0.{r.randrange(2, 250)}"]), lambda r: pick(r, exports), lambda r: pick(r, exports),
       lambda r: Fixed(pick(r, ["unmatched host", "not exported", f"illegal port {port(r)}"])))

    # -- NAS: backups --
    target = lambda r: pick(r, ["rsync://offsite.example.net/office", "/mnt/usb-backup", "nas-offsite:/srv/backup/office",
                                "/mnt/coldstore/snapshots"])
    st(8, "info", "backup", "job \"{}\" started: {} -> {}", lambda r: pick(r, JOBS),
       lambda r: pick(r, ["/mnt/tank/finance", "/mnt/tank/projects", "/mnt/vault/home", "/mnt/media/photos"]), target)

    def rate(r):
        return pick(r, [f"{r.randrange(1, 999)}.{r.randrange(100):02d} kB/s", f"{r.randrange(1, 120)}.{r.randrange(100):02d} MB/s",
                        f"{r.randrange(1000, 10**8)} bytes/sec"])

    def xfer(r):
        return pick(r, [f"{r.randrange(1, 999)} KB", f"{r.randrange(1, 999)}.{r.randrange(10)} MB",
                        f"{r.randrange(1, 99)}.{r.randrange(100):02d} GB", f"{r.randrange(10**4, 10**9)} bytes"])
    st(8, "info", "backup", "job \"{}\" finished: {} files transferred ({}), {} unchanged{}, {}, elapsed {}",
       lambda r: pick(r, JOBS), lambda r: r.randrange(0, 5000), xfer, lambda r: r.randrange(100, 400000),
       lambda r: opt(r, 0.4, lambda r: Part(f", {r.randrange(1, 300)} deleted", ", <*> deleted")), rate,
       lambda r: pick(r, [f"{r.randrange(1, 59)}s", f"{r.randrange(1, 59)}m{r.randrange(60):02d}s", f"{r.randrange(1, 6)}h{r.randrange(60):02d}m"]))
    st(3, "err", "backup", "job \"{}\" failed after {}: {}", lambda r: pick(r, JOBS),
       lambda r: pick(r, [f"{r.randrange(1, 59)}s", f"{r.randrange(1, 59)}m{r.randrange(60):02d}s"]),
       fixed(["rsync exited with code 23 (partial transfer due to error)",
              "rsync exited with code 12 (error in rsync protocol data stream)",
              "rsync exited with code 30 (timeout in data send/receive)",
              "target not mounted", "another run is still in progress"]))

    # -- UPS (Network UPS Tools) --
    st(5, "alert", "upsmon", "UPS {}@localhost on battery", lambda r: pick(r, UPSES))
    st(5, "notice", "upsmon", "UPS {}@localhost on line power", lambda r: pick(r, UPSES))
    st(5, "warning", "upsmon", "Communications with UPS {}@localhost {}", lambda r: pick(r, UPSES),
       lambda r: Fixed(pick(r, ["lost", "established"])))
    st(14, "info", "upslog", "{}@localhost: ups.status={} battery.charge={} battery.runtime={} ups.load={}",
       lambda r: pick(r, UPSES), lambda r: Fixed(w(r, [("OL", 8), ("OL CHRG", 3), ("OB DISCHRG", 3), ("OB DISCHRG LB", 1)])),
       lambda r: r.randrange(8, 101), lambda r: r.randrange(120, 5400), lambda r: r.randrange(5, 80))
    st(3, "alert", "upssched-cmd", "{} on battery for {} s, battery {}%, runtime left {}, shutdown scheduled in {} s",
       lambda r: pick(r, UPSES), lambda r: pick(r, [60, 120, 300]), lambda r: r.randrange(20, 90),
       lambda r: pick(r, [f"{r.randrange(1, 40)} min", f"{r.randrange(1, 40)}m{r.randrange(60):02d}s", f"{r.randrange(60, 2400)} s"]),
       lambda r: pick(r, [180, 300, 600]))

    # -- VPN concentrator (strongSwan charon) --
    st(10, "info", "charon", "{}[CFG] selected proposal: {}", thread, fixed([
        "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
        "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
        "ESP:AES_GCM_16_256/NO_EXT_SEQ",
        "ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ"]))
    st(10, "info", "charon", "{}[IKE] IKE_SA {}[{}] established between {}", thread,
       lambda r: pick(r, CONNS), lambda r: r.randrange(1, 300), sa_pair)
    st(10, "info", "charon", "{}[IKE] CHILD_SA {}{{{}}} established with SPIs {}_i {}_o and TS {} === {}", thread,
       lambda r: pick(r, CONNS), lambda r: r.randrange(1, 300), spi, spi, ts, ts)
    st(6, "info", "charon", "{}[IKE] IKE_SA {}[{}] rekeyed between {}", thread,
       lambda r: pick(r, CONNS), lambda r: r.randrange(1, 300), sa_pair)
    st(8, "info", "charon", "{}[IKE] closing CHILD_SA {}{{{}}} with SPIs {}_i ({} bytes) {}_o ({} bytes) and TS {} === {}", thread,
       lambda r: pick(r, CONNS), lambda r: r.randrange(1, 300), spi, lambda r: r.randrange(0, 10**8), spi,
       lambda r: r.randrange(0, 10**8), ts, ts)
    st(6, "info", "charon", "{}[IKE] deleting IKE_SA {}[{}] between {}", thread,
       lambda r: pick(r, CONNS), lambda r: r.randrange(1, 300), sa_pair)
    st(8, "info", "charon", "{}[IKE] retransmit {} of request with message ID {}", thread,
       lambda r: r.randrange(1, 6), lambda r: r.randrange(0, 40))
    st(4, "warning", "charon", "{}[IKE] peer not responding, trying again ({}/{})", thread,
       lambda r: r.randrange(2, 4), lambda r: 3)

    def payloads(r):
        return " ".join(some(r, ["SA", "KE", "No", "N(NATD_S_IP)", "N(NATD_D_IP)", "N(FRAG_SUP)", "N(HASH_ALG)",
                                 "IDi", "IDr", "AUTH", "CERT", "CERTREQ", "TSi", "TSr", "N(MOBIKE_SUP)",
                                 "N(ESP_TFC_PAD_N)", "N(INIT_CONTACT)", "D"], 1, 9))
    st(20, "info", "charon", "{}[ENC] {} {} [ {} ]", thread,
       lambda r: Fixed(w(r, [("parsed IKE_SA_INIT request", 3), ("generating IKE_SA_INIT response", 3),
                             ("parsed IKE_AUTH request", 3), ("generating IKE_AUTH response", 3),
                             ("parsed INFORMATIONAL request", 2), ("generating INFORMATIONAL response", 2),
                             ("parsed CREATE_CHILD_SA request", 1)])),
       lambda r: r.randrange(0, 40), payloads)
    return S


def main():
    statements = net_office()
    write("NetOffice", statements, 71)
    print(len(statements), "statements")


if __name__ == "__main__":
    main()
