#!/usr/bin/env python3
"""The Python baseline of the client benchmarks: read JSONL, POST one chat
request per record with aiohttp at a fixed concurrency, write each record with
the answer as JSONL (as answers arrive).

    aiohttp_client.py URL FILE CONCURRENCY           bench/client.sh: the question as text
    aiohttp_client.py URL FILE CONCURRENCY --media   bench/media.sh: read the record's image,
                                                     base64 it into a data URL, the instruction as text
"""
import asyncio
import base64
import json
import sys

import aiohttp


def text_body(item):
    return {"model": "bench-model",
            "messages": [{"role": "user", "content": "Answer briefly: " + item["question"]}],
            "max_tokens": 64}, "answer"


def media_body(item):
    with open(item["image"], "rb") as f:
        b64 = base64.b64encode(f.read()).decode("ascii")
    return {"model": "bench-model", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + b64}},
        {"type": "text", "text": item["instruction"]}]}]}, "response"


async def main(url, path, concurrency, make_body):
    queue = asyncio.Queue(maxsize=concurrency * 4)
    out = sys.stdout

    async def worker(session):
        while True:
            item = await queue.get()
            if item is None:
                return
            body, field = make_body(item)
            async with session.post(url + "/chat/completions", data=json.dumps(body, ensure_ascii=False),
                                    headers={"Content-Type": "application/json"}) as resp:
                reply = await resp.json()
            item[field] = reply["choices"][0]["message"]["content"]
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
    media = "--media" in sys.argv[4:]
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), media_body if media else text_body))
