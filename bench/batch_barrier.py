#!/usr/bin/env python3
"""The reference's way of feeding its engine, as a baseline for
bench/saturation.sh: send K requests, wait until all K are answered, repeat."""
import asyncio
import sys
import time

import aiohttp


async def main(url, n, k):
    body = {"model": "double-model", "messages": [{"role": "user", "content": "hello"}]}
    connector = aiohttp.TCPConnector(limit=k)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one():
            async with session.post(url + "/chat/completions", json=body) as r:
                await r.read()
        start = time.perf_counter()
        done = 0
        while done < n:
            batch = min(k, n - done)
            await asyncio.gather(*(one() for _ in range(batch)))
            done += batch
        print(f"{time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
