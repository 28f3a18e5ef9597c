#!/usr/bin/env python3
"""The Python baseline for bench/client.sh: read JSONL, POST the same prompt
mminf-gen sends for each record with aiohttp at a fixed concurrency, write
each record with the answer as JSONL (as answers arrive)."""
import asyncio
import json
import sys

import aiohttp


async def main(url, path, concurrency):
    queue = asyncio.Queue(maxsize=concurrency * 4)
    out = sys.stdout

    async def worker(session):
        while True:
            item = await queue.get()
            if item is None:
                return
            body = {"model": "bench-model",
                    "messages": [{"role": "user", "content": "Answer briefly: " + item["question"]}],
                    "max_tokens": 64}
            async with session.post(url + "/chat/completions", json=body) as resp:
                reply = await resp.json()
            item["answer"] = reply["choices"][0]["message"]["content"]
            out.write(json.dumps(item, ensure_ascii=False) + "\n")

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        workers = [asyncio.create_task(worker(session)) for _ in range(concurrency)]
        with open(path) as f:
            for line in f:
                await queue.put(json.loads(line))
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
