#!/usr/bin/env python3
"""The Python baseline for bench/media.sh: for each record, read its image,
base64-encode it, POST a chat request with the image as a data URL and the
instruction as text (as mminf-gen --respond does) with aiohttp at a fixed
concurrency, and write each record with the answer as JSONL."""
import asyncio
import base64
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
            with open(item["image"], "rb") as f:
                b64 = base64.b64encode(f.read()).decode("ascii")
            body = {"model": "bench-model", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + b64}},
                {"type": "text", "text": item["instruction"]}]}]}
            async with session.post(url + "/chat/completions", data=json.dumps(body, ensure_ascii=False),
                                    headers={"Content-Type": "application/json"}) as resp:
                reply = await resp.json()
            item["response"] = reply["choices"][0]["message"]["content"]
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
