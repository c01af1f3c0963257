"""Measure a shell session against the simulated Dashboard: key echo latency and 1 MB of output.

    python scripts/shell_bench.py [--keys 200] [--lines 150000]

Echo: one key at a time through TerminalSession (client code as for a real Dashboard), the time
until its echo comes back; the demo's own time is inside it (loopback, no agent). Output: `seq N`
streamed through the same bridge writer the app uses (write_all) into /dev/null; printed with MB/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time


async def main(keys: int, lines: int) -> None:
    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.api.terminal import TerminalSession
    from nezha_tui.demo.server import DemoOptions, DemoServer
    from nezha_tui.shell_bridge import write_all

    demo = DemoServer(DemoOptions(servers=2))
    await demo.start()
    try:
        client = NezhaClient(demo.url, Credentials(username=demo.username, password=demo.password))
        session = await TerminalSession.attach(client, await client.open_terminal(1))
        output = session.output().__aiter__()
        await output.__anext__()  # the prompt
        echoes = []
        for i in range(keys):
            key = b"abcdefghij"[i % 10:i % 10 + 1]
            t0 = time.perf_counter()
            await session.send_input(key)
            got = b""
            while key not in got:
                got += await output.__anext__()
            echoes.append((time.perf_counter() - t0) * 1000)
        await session.send_input(b"\x15")  # ^U: drop the typed line
        sink = os.open(os.devnull, os.O_WRONLY)
        await session.send_input(f"seq {lines}\r".encode())
        t0 = time.perf_counter()
        total = 0
        tail = b""
        while not tail.endswith(b"# "):
            chunk = await output.__anext__()
            total += len(chunk)
            await write_all(sink, chunk)
            tail = (tail + chunk)[-64:]
        took = time.perf_counter() - t0
        os.close(sink)
        await session.close()
        await client.aclose()
        echoes.sort()
        print(f"key echo over {keys} keys: median {statistics.median(echoes):.2f} ms, "
              f"p95 {echoes[int(len(echoes) * 0.95) - 1]:.2f} ms, max {echoes[-1]:.2f} ms")
        print(f"output: {total / 1e6:.2f} MB in {took * 1000:.0f} ms ({total / 1e6 / took:.1f} MB/s)")
    finally:
        await demo.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--lines", type=int, default=150000)
    args = parser.parse_args()
    asyncio.run(main(args.keys, args.lines))
