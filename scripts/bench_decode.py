#!/usr/bin/env python3
"""Benchmark the stream-frame decoder on frames in the Dashboard's real shape.

Builds frames of 1,000 and 10,000 servers with its own generator (Go's
omitempty, integral floats printed without ``.0``, RFC 3339 times with
nanoseconds and a +08:00 offset, never-connected servers with ``{}`` and the
zero time, public_note in the first frame) and prints the median time of:

* ``json.loads`` (stdlib, for scale),
* ``msgspec.json.decode`` untyped,
* ``decode_frame`` on a clean frame (typed fast path + zero-time pass),
* ``decode_frame`` on the same frame with one wrong type in one server
  (the fallback path: untyped decode + per-server convert + per-field repair),
* ``decode_frame`` on a frame where every 10th server has ``"host": null``
  (a proxy/fork quirk that also takes the fallback path),
* ``decode_frame`` on a frame where EVERY server has one bad field (a string
  where a number belongs, in a different field from server to server): the
  worst ordinary case of the slow path ("all-bad"; the goal: < 10x "typed").

Measured (2 shared cores, medians; before = 181daf3, after = this change):

    servers  typed         all-bad (ratio to typed)
    1,000    1.0 -> 1.1 ms  ~27 ms (25x) -> ~7.5 ms (6.5x)
    10,000   ~13 -> ~14 ms  ~270 ms (20x) -> ~87 ms (5-6x)

Usage: python scripts/bench_decode.py [--sizes 1000,10000] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's nezha_tui, not an installed one

from nezha_tui.api.decode import decode_frame

NOW_S = 1_795_665_600  # 2026-11-26T04:00:00Z


def go_float(x: float) -> float | int:
    """Go prints an integral float64 without a fraction (45, not 45.0)."""
    return int(x) if x == int(x) else x


def go_time(unix: float) -> str:
    """RFC 3339 with nanoseconds (trailing zeros trimmed) in +08:00, as Go prints it."""
    sec = int(unix)
    nanos = int(round((unix - sec) * 1e9)) % 1_000_000_000
    t = time.gmtime(sec + 8 * 3600)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", t)
    frac = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{base}{frac}+08:00"


def omit_zero(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (0, 0.0, "", None, [], {}, False)}


def server(i: int, rng: random.Random, first: bool) -> dict:
    sid = i + 1
    never = rng.random() < 0.03
    note = json.dumps({"billingDataMod": {"startDate": "2026-01-01", "endDate": "2027-01-01",
                                          "autoRenewal": "1", "cycle": "Month", "amount": "5EUR"}})
    s: dict = {"id": sid, "name": f"node-{sid:05d}", "display_index": rng.choice([0, 0, 0, 5, 10])}
    if first and rng.random() < 0.3:
        s["public_note"] = note
    if never:
        s.update(host={}, state={}, last_active="0001-01-01T00:00:00Z")
        return omit_zero_keep(s)
    mem_total = rng.choice([1, 2, 4, 8, 16, 32]) * 1024**3
    disk_total = rng.choice([20, 40, 80, 160]) * 1024**3
    host = omit_zero({
        "platform": rng.choice(["debian", "ubuntu", "alpine", "centos"]),
        "platform_version": rng.choice(["12", "22.04", "3.20", ""]),
        "cpu": [f"AMD EPYC 7B13 {rng.choice([1, 2, 4, 8])} Virtual Core"],
        "mem_total": mem_total, "disk_total": disk_total,
        "swap_total": rng.choice([0, 1024**3]),
        "arch": rng.choice(["x86_64", "aarch64"]), "virtualization": rng.choice(["kvm", "lxc", ""]),
        "boot_time": NOW_S - rng.randint(3600, 90 * 86400), "version": "1.14.1",
        "gpu": ["NVIDIA T4"] if rng.random() < 0.05 else [],
    })
    temps = ([{"Name": "coretemp_package_id_0", "Temperature": go_float(round(rng.uniform(35, 80), 1))}]
             if rng.random() < 0.4 else [])
    state = omit_zero({
        "cpu": go_float(rng.choice([0.0, rng.uniform(0, 100)])),
        "mem_used": rng.randint(0, mem_total), "swap_used": rng.choice([0, rng.randint(0, 1024**3)]),
        "disk_used": rng.randint(0, disk_total),
        "net_in_transfer": rng.randint(0, 10**13), "net_out_transfer": rng.randint(0, 10**13),
        "net_in_speed": rng.choice([0, rng.randint(0, 10**8)]),
        "net_out_speed": rng.choice([0, rng.randint(0, 10**8)]),
        "uptime": rng.randint(0, 90 * 86400),
        "load_1": go_float(round(rng.uniform(0, 4), 2)), "load_5": go_float(round(rng.uniform(0, 4), 2)),
        "load_15": go_float(round(rng.uniform(0, 4), 2)),
        "tcp_conn_count": rng.randint(0, 500), "udp_conn_count": rng.randint(0, 50),
        "process_count": rng.randint(50, 400), "temperatures": temps,
        "gpu": [go_float(round(rng.uniform(0, 100), 1))] if "gpu" in host else [],
    })
    s.update(host=host, state=state, last_active=go_time(NOW_S - rng.uniform(0, 3)))
    if rng.random() < 0.9:
        s["country_code"] = rng.choice(["de", "jp", "us", "sg", "fr", "nl"])
    return omit_zero_keep(s)


def omit_zero_keep(s: dict) -> dict:
    # host/state are pointers in Go: an empty struct still prints as {}
    return {k: v for k, v in s.items() if k in ("host", "state") or v not in (0, "", None, [])}


def frame(n: int, seed: int = 1, first: bool = True) -> dict:
    rng = random.Random(seed)
    return {"now": NOW_S * 1000, "online": 3, "servers": [server(i, rng, first) for i in range(n)]}


def median_ms(fn, data, repeat: int) -> float:
    fn(data)  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(data)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=0, help="runs per case (default: 21 / 7 by size)")
    args = ap.parse_args()
    any_decoder = msgspec.json.Decoder()
    print(f"{'servers':>8} {'bytes':>10} {'json.loads':>11} {'untyped':>9} {'typed':>9} {'fallback':>9} "
          f"{'null-host':>10} {'all-bad':>9} {'ratio':>6}")
    for n in (int(x) for x in args.sizes.split(",")):
        doc = frame(n)
        clean = json.dumps(doc, separators=(",", ":")).encode()
        bad_doc = json.loads(clean)
        bad_doc["servers"][n // 2]["state"]["cpu"] = "high"
        bad = json.dumps(bad_doc, separators=(",", ":")).encode()
        null_doc = json.loads(clean)
        for s in null_doc["servers"][::10]:
            s["host"] = None
        nulls = json.dumps(null_doc, separators=(",", ":")).encode()
        all_doc = json.loads(clean)
        spots = [("state", "cpu"), ("state", "mem_used"), ("state", "load_1"), ("host", "mem_total"),
                 ("state", "uptime"), ("host", "boot_time")]
        for i, s in enumerate(all_doc["servers"]):
            part, key = spots[i % len(spots)]
            s[part][key] = "n/a"
        all_bad = json.dumps(all_doc, separators=(",", ":")).encode()

        f, rep = decode_frame(clean)
        assert rep.clean and len(f.servers) == n
        f, rep = decode_frame(bad)
        assert rep.bad_fields == 1 and len(f.servers) == n
        f, rep = decode_frame(nulls)
        assert rep.clean and len(f.servers) == n
        f, rep = decode_frame(all_bad)
        assert rep.bad_fields == n and len(f.servers) == n and len(rep.repaired) == n

        repeat = args.repeat or (21 if n <= 2000 else 7)
        row = [
            median_ms(json.loads, clean, repeat),
            median_ms(any_decoder.decode, clean, repeat),
            median_ms(decode_frame, clean, repeat),
            median_ms(decode_frame, bad, repeat),
            median_ms(decode_frame, nulls, repeat),
            median_ms(decode_frame, all_bad, repeat),
        ]
        print(f"{n:>8} {len(clean):>10,} " + " ".join(f"{v:>9.1f}ms" if i == 0 else f"{v:>7.1f}ms"
                                                        for i, v in enumerate(row)).replace("ms ", "ms  ")
              + f" {row[5] / row[2]:>6.1f}x")


if __name__ == "__main__":
    main()
