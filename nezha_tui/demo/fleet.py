"""The simulated fleet: servers, groups, service monitors and quota rules.

Everything is derived from ``(seed, size, t0)`` only, where ``t0`` is the
clock reading when the demo was built; two fleets built with the same three
values are identical.  The fleet holds static facts; live values come from
:mod:`nezha_tui.demo.signals`.

The default fleet (24 servers) is hand-shaped so that every quirk of the
real API shows up at least once: servers in several countries and one without
a country, a few with ``display_index`` set (ordering), offline servers whose
``last_active`` is minutes, hours and days old, one whose agent disconnected
(zero ``last_active`` but last values kept, as current Dashboards do), one
that never reported (``host {}``, ``state {}``), servers hidden for guests,
sensors with temperatures, GPUs, billing/plan JSON in ``public_note`` and a
plain-text note.  Bigger fleets repeat the same mix.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field

__all__ = [
    "Status", "HostFacts", "FleetServer", "Group", "Monitor", "QuotaRule", "Fleet", "build_fleet",
    "GIB", "TIB",
]

GIB = 1024 ** 3
TIB = 1024 ** 4


class Status:
    ONLINE = "online"
    OFFLINE = "offline"  # agent hung: last_active ages
    DISCONNECTED = "disconnected"  # agent gone: zero last_active, last values kept
    NEVER = "never"  # never reported: host {}, state {}, zero last_active


@dataclass(frozen=True)
class HostFacts:
    platform: str
    platform_version: str
    cpu: tuple[str, ...]
    cores: int
    mem_total: int
    disk_total: int
    swap_total: int
    arch: str
    virtualization: str
    boot_time: int
    version: str
    gpu: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetServer:
    id: int
    name: str
    uuid: str
    display_index: int
    country: str  # lower-case ISO code or ""
    hide_for_guest: bool
    public_note: str
    note: str
    status: str
    offline_age: float  # seconds before t0 when it last reported (OFFLINE)
    host: HostFacts | None  # None: never reported
    sensors: tuple[str, ...]
    created_at: float
    updated_at: float
    ipv4: str
    ipv6: str
    owner_id: int = 1
    enable_ddns: bool = False
    ddns_profiles: tuple[int, ...] = ()
    # signal profile (see signals.py)
    profile: tuple[float, ...] = ()


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    created_at: float
    updated_at: float
    server_ids: tuple[int, ...]


@dataclass(frozen=True)
class Monitor:
    id: int
    name: str
    type: int  # 1 HTTP GET, 2 ICMP ping, 3 TCP ping
    target: str
    display_index: int
    hide_for_guest: bool
    reporters: tuple[int, ...]  # servers that run the check (Cover "ignore all" + skip_servers)
    base_delay: float  # ms
    fail_rate: float  # probability of a down check outside outages
    duration: int = 30  # seconds between checks


@dataclass(frozen=True)
class QuotaRule:
    id: int
    name: str
    server_ids: tuple[int, ...]
    max: int
    min: int
    cycle: str  # "month" or "day"


@dataclass
class Fleet:
    seed: int
    t0: float
    servers: list[FleetServer]
    groups: list[Group]
    monitors: list[Monitor]
    rules: list[QuotaRule]
    by_id: dict[int, FleetServer] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # Dashboard order

    def __post_init__(self) -> None:
        self.by_id = {s.id: s for s in self.servers}
        self.order = [s.id for s in sorted(self.servers, key=lambda s: (-s.display_index, s.id))]


# --------------------------------------------------------------------------- ingredients

_PLACES = [
    ("de", "fra"), ("us", "lax"), ("jp", "tyo"), ("sg", "sin"), ("nl", "ams"), ("hk", "hkg"),
    ("us", "nyc"), ("gb", "lon"), ("fr", "par"), ("fi", "hel"), ("ca", "yyz"), ("au", "syd"),
    ("cn", "sha"), ("kr", "sel"), ("br", "gru"), ("in", "bom"),
]
_ROLES = ["web", "db", "edge", "cache", "ci", "vpn", "mail", "proxy", "media", "backup"]
_PLATFORMS = [
    ("debian", "12.8"), ("ubuntu", "24.04"), ("ubuntu", "22.04"), ("rocky", "9.5"),
    ("alpine", "3.21.0"), ("debian", "11.11"), ("centos", "7.9.2009"), ("arch", "rolling"),
]
_CPUS = [
    ("AMD EPYC 7B13 {n} Virtual Core", "amd64"), ("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz {n} Virtual Core", "amd64"),
    ("AMD Ryzen 9 7950X3D 16-Core Processor {n} Physical Core", "amd64"), ("Neoverse-N1 {n} Physical Core", "arm64"),
    ("Intel(R) Xeon(R) E-2286G CPU @ 4.00GHz {n} Physical Core", "amd64"), ("AMD EPYC 9654 {n} Virtual Core", "amd64"),
]
_VIRT = ["kvm", "kvm", "kvm", "lxc", "openvz", "hyperv", ""]
_GPUS = [("NVIDIA GeForce RTX 4090",), ("NVIDIA A100-SXM4-40GB", "NVIDIA A100-SXM4-40GB"), ("NVIDIA Tesla T4",)]
_AGENT_VERSIONS = ["1.14.1", "1.14.1", "1.13.2", "1.12.4"]

# public notes in the shape the admin UI writes (all values strings)
_NOTES = [
    {"billingDataMod": {"startDate": "2025-03-01T00:00:00.000Z", "endDate": "2026-03-01T00:00:00.000Z",
                        "autoRenewal": "1", "cycle": "Year", "amount": "49.99USD"},
     "planDataMod": {"bandwidth": "1Gbps", "trafficVol": "2TB", "trafficType": "2", "IPv4": "1", "IPv6": "1",
                     "networkRoute": "CN2 GIA,BGP", "extra": "NVMe"}},
    {"billingDataMod": {"startDate": "2026-10-15T00:00:00.000Z", "endDate": "2026-12-15T00:00:00.000Z",
                        "autoRenewal": "0", "cycle": "Month", "amount": "5EUR"},
     "planDataMod": {"bandwidth": "200Mbps", "trafficVol": "1TB", "trafficType": "1", "IPv4": "1", "IPv6": "0",
                     "networkRoute": "", "extra": ""}},
    {"billingDataMod": {"startDate": "2024-06-01T00:00:00.000Z", "endDate": "0000-00-00T23:59:59+08:00",
                        "autoRenewal": "0", "cycle": "Month", "amount": "0"}},
    {"billingDataMod": {"startDate": "2026-09-01T00:00:00.000Z", "endDate": "2026-12-01T00:00:00.000Z",
                        "autoRenewal": "1", "cycle": "Quarterly", "amount": "-1"},
     "planDataMod": {"bandwidth": "10Gbps", "trafficVol": "", "trafficType": "", "IPv4": "1", "IPv6": "1",
                     "networkRoute": "AS9929", "extra": "DDoS protected,IPv6 /64"}},
    {"billingDataMod": {"startDate": "2026-05-20T00:00:00.000Z", "endDate": "2026-11-20T00:00:00.000Z",
                        "autoRenewal": "1", "cycle": "半年", "amount": "¥299"}},
    {"billingDataMod": {"startDate": "2026-11-01T00:00:00.000Z", "endDate": "2026-11-30T00:00:00.000Z",
                        "autoRenewal": "0", "cycle": "Week", "amount": "2.50USD"},
     "planDataMod": {"bandwidth": "100Mbps", "trafficVol": "500GB", "trafficType": "2", "IPv4": "0", "IPv6": "1",
                     "networkRoute": "", "extra": "IPv6 only"}},
    {"planDataMod": {"bandwidth": "1Gbps", "trafficVol": "Unlimited", "trafficType": "", "IPv4": "1", "IPv6": "0",
                     "networkRoute": "Premium", "extra": ""}},
    {"billingDataMod": {"startDate": "2026-11-25T00:00:00.000Z", "endDate": "2026-11-26T00:00:00.000Z",
                        "autoRenewal": "1", "cycle": "Day", "amount": "0.10USD"}},
]
_PLAIN_NOTE = "Rented from a friend <until spring> & shared with the CI team"


def _note_json(d: dict) -> str:
    # The admin UI stores JSON.stringify output: compact, insertion order.
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def _mem_total(rng: random.Random) -> int:
    gib = rng.choice([1, 2, 2, 4, 4, 8, 8, 16, 32, 64, 128])
    return gib * GIB - rng.randrange(80, 400) * 1024 * 1024  # kernel reserved


def _host(rng: random.Random, t0: float, *, gpu: bool, physical: bool) -> HostFacts:
    platform, pver = rng.choice(_PLATFORMS)
    cpu_t, arch = rng.choice(_CPUS)
    cores = rng.choice([1, 2, 2, 4, 4, 8, 16, 32])
    if "Ryzen" in cpu_t or "E-2286G" in cpu_t:
        physical = True
    virt = "" if physical else rng.choice(_VIRT[:-1])
    cpu = (cpu_t.format(n=cores),)
    mem = _mem_total(rng)
    disk = rng.choice([10, 20, 40, 80, 160, 480, 960, 1920, 3840]) * GIB + rng.randrange(0, 512) * 1024 * 1024
    swap = 0 if rng.random() < 0.3 else rng.choice([512 * 1024 * 1024, GIB, 2 * GIB, 4 * GIB])
    boot = int(t0 - rng.uniform(600, 200 * 86400))
    return HostFacts(
        platform=platform, platform_version=pver, cpu=cpu, cores=cores, mem_total=mem, disk_total=disk,
        swap_total=swap, arch=arch, virtualization=virt, boot_time=boot,
        version=rng.choice(_AGENT_VERSIONS), gpu=rng.choice(_GPUS) if gpu else (),
    )


def _uuid(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _profile(rng: random.Random) -> tuple[float, ...]:
    """Per-server signal parameters (see signals.Signals for their meaning)."""
    return (
        rng.uniform(2, 55),  # 0 cpu base %
        rng.uniform(0.2, 0.8),  # 1 cpu swing (fraction of base)
        rng.uniform(0.15, 0.8),  # 2 memory fraction
        rng.uniform(0.05, 0.6),  # 3 swap fraction
        rng.uniform(0.1, 0.85),  # 4 disk fraction
        math.exp(rng.uniform(math.log(2e3), math.log(3e6))),  # 5 net in base B/s (log-uniform)
        math.exp(rng.uniform(math.log(2e3), math.log(4e6))),  # 6 net out base B/s
        rng.uniform(10, 900),  # 7 tcp base
        rng.uniform(2, 80),  # 8 udp base
        rng.uniform(60, 450),  # 9 process base
        rng.uniform(0, 6.283),  # 10 phase a
        rng.uniform(0, 6.283),  # 11 phase b
        rng.uniform(0, 6.283),  # 12 phase c
        rng.uniform(500, 1500),  # 13 fast period s
        rng.uniform(35, 60),  # 14 temperature base C
        rng.uniform(5, 90),  # 15 gpu base %
    )


# --------------------------------------------------------------------------- the builder


def build_fleet(seed: int = 1, size: int = 24, t0: float = 0.0) -> Fleet:
    """The deterministic fleet for ``(seed, size, t0)``."""
    size = max(0, int(size))
    rng = random.Random(f"nezha-demo-fleet:{seed}")
    t0i = int(t0)
    servers: list[FleetServer] = []
    counters: dict[str, int] = {}
    for i in range(size):
        sid = i + 1
        slot = i % 24  # the hand-shaped mix repeats every 24 servers
        country, city = _PLACES[(i * 7 + seed) % len(_PLACES)] if slot != 5 else ("", "lab")
        role = _ROLES[(i * 3 + seed + i // len(_ROLES)) % len(_ROLES)]
        key = f"{city}-{role}"
        counters[key] = counters.get(key, 0) + 1
        name = f"{key}-{counters[key]:02d}"
        if slot == 3:
            name = f"{city}-{role}-{counters[key]:02d} (测试)"  # non-ASCII names happen
        display_index = {0: 10, 1: 8, 2: 8, 9: 3, 14: 1}.get(slot, 0) if i < 24 else (1 if slot == 0 else 0)

        status = Status.ONLINE
        offline_age = 0.0
        if slot == 7:
            status, offline_age = Status.OFFLINE, 7 * 60 + 13.5
        elif slot == 12:
            status, offline_age = Status.OFFLINE, 3 * 3600 + 1234.25
        elif slot == 18:
            status, offline_age = Status.OFFLINE, 2 * 86400 + 5 * 3600
        elif slot == 15:
            status = Status.DISCONNECTED
        elif slot == 21:
            status = Status.NEVER

        hide = slot in (4, 17)
        physical = slot in (0, 2, 6, 10, 13, 19, 22)
        gpu = slot in (6, 19)
        host = None if status == Status.NEVER else _host(rng, t0, gpu=gpu, physical=physical)
        sensors: tuple[str, ...] = ()
        if host is not None and (physical or slot in (1, 11)):
            sensors = ("coretemp_package_id_0", "coretemp_core_0", "coretemp_core_1", "nvme_composite")
            if slot == 1:
                sensors = ("k10temp_tctl", "acpitz")
            if gpu:
                sensors = sensors + ("nvidia_gpu_0",)

        if slot in (0, 1, 2, 6, 9, 10, 13, 20):
            note = _note_json(_NOTES[[0, 1, 2, 6, 9, 10, 13, 20].index(slot)])
        elif slot == 11:
            note = _PLAIN_NOTE
        else:
            note = ""
        created = t0i - 400 * 86400 + sid * 3607 + rng.randrange(0, 3600) + rng.random()
        updated = min(created + rng.uniform(0, 300 * 86400), t0 - 3600)
        ipv4 = f"{(sid * 37) % 200 + 23}.{(sid * 11) % 250 + 1}.{(sid * 7) % 250 + 1}.{(sid * 13) % 250 + 2}"
        ipv6 = f"2a01:4f8:{sid % 0xffff:x}::{(sid * 3) % 0xffff:x}" if slot % 3 != 1 else ""
        servers.append(FleetServer(
            id=sid, name=name, uuid=_uuid(rng), display_index=display_index, country=country,
            hide_for_guest=hide, public_note=note,
            note="private: root via bastion" if slot in (0, 9) else "",
            status=status, offline_age=offline_age, host=host, sensors=sensors,
            created_at=created, updated_at=max(updated, created), ipv4=ipv4 if slot != 5 else "",
            ipv6=ipv6 if slot != 5 else "", enable_ddns=slot == 2, ddns_profiles=(1,) if slot == 2 else (),
            profile=_profile(rng),
        ))

    groups = _groups(servers, t0i)
    monitors = _monitors(servers, rng)
    rules = _rules(servers)
    return Fleet(seed=seed, t0=t0, servers=servers, groups=groups, monitors=monitors, rules=rules)


def _groups(servers: list[FleetServer], t0i: int) -> list[Group]:
    n = len(servers)
    prod = tuple(s.id for s in servers if s.id % 3 != 0)
    edge = tuple(s.id for s in servers if s.id % 4 == 1)
    asia = tuple(s.id for s in servers if s.country in ("jp", "sg", "hk", "cn", "kr", "in"))
    staff = tuple(s.id for s in servers if s.hide_for_guest) or tuple(s.id for s in servers[:1])
    base = t0i - 300 * 86400
    out = [
        Group(1, "Production", base + 0.123456, base + 86400 * 20 + 0.5, prod),
        Group(2, "Edge", base + 3600 + 0.25, base + 3600 + 0.25, edge),
        Group(3, "Asia", base + 7200.000001, base + 86400 * 100, asia),
        Group(4, "Internal", base + 10800, base + 10800, staff),  # guests never see this one
        Group(5, "Decommissioned", base + 14400.5, base + 14400.5, ()),  # no servers -> "servers": null
    ]
    return out if n else out[-1:]


_MONITOR_SPECS = [
    # name, type, target, base delay ms, fail rate, hide for guest, display_index
    ("Google DNS", 2, "8.8.8.8", 18.0, 0.002, False, 5),
    ("Cloudflare", 2, "1.1.1.1", 9.0, 0.001, False, 5),
    ("Website", 1, "https://example.com", 120.0, 0.004, False, 3),
    ("API health", 1, "https://api.example.com/health", 85.0, 0.01, False, 2),
    ("SSH bastion", 3, "203.0.113.10:22", 42.0, 0.003, False, 0),
    ("Postgres primary", 3, "10.0.0.5:5432", 1.4, 0.02, True, 0),
    ("Flaky upstream", 1, "http://flaky.example.net/", 340.0, 0.08, False, 0),
]


def _monitors(servers: list[FleetServer], rng: random.Random) -> list[Monitor]:
    candidates = [s.id for s in servers if s.status != Status.NEVER]
    if not candidates:
        return []
    out = []
    for k, (name, typ, target, delay, fail, hide, dix) in enumerate(_MONITOR_SPECS):
        count = min(len(candidates), 3 + k % 3)
        start = (k * 5) % len(candidates)
        reporters = tuple(sorted({candidates[(start + j * 3) % len(candidates)] for j in range(count)}))
        out.append(Monitor(id=k + 1, name=name, type=typ, target=target, display_index=dix,
                           hide_for_guest=hide, reporters=reporters, base_delay=delay, fail_rate=fail))
    return out


def _rules(servers: list[FleetServer]) -> list[QuotaRule]:
    ids = [s.id for s in servers if s.status != Status.NEVER]
    if not ids:
        return []
    rules = [QuotaRule(1, "Monthly 2 TiB egress", tuple(ids[:6]), 2 * TIB, 0, "month")]
    if len(ids) > 8:
        rules.append(QuotaRule(3, "Daily 50 GiB cap", tuple(ids[6:9]), 50 * GIB, 1 * GIB, "day"))
    return rules
