#!/usr/bin/env python3
"""Draws the small pictures in examples/data/images (run once; the PNGs are committed).

Each picture is a few flat shapes on a plain background, drawn here from
scratch so the examples carry no image from anywhere else. PNG is written
with the standard library (zlib); the same run always gives the same bytes.
"""
import os
import struct
import zlib

W, H = 96, 64


def png(path, pixels):
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def canvas(color):
    return [[color for _ in range(W)] for _ in range(H)]


def disc(px, cx, cy, r, color):
    for y in range(H):
        for x in range(W):
            if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                px[y][x] = color


def box(px, x0, y0, x1, y1, color):
    for y in range(max(0, y0), min(H, y1)):
        for x in range(max(0, x0), min(W, x1)):
            px[y][x] = color


def bicycle():  # two wheels and a red frame in front of a bakery wall
    px = canvas((214, 196, 160))
    box(px, 0, 44, W, H, (120, 110, 100))
    for cx in (28, 68):
        disc(px, cx, 46, 12, (30, 30, 30))
        disc(px, cx, 46, 9, (214, 196, 160))
    box(px, 28, 34, 68, 38, (200, 20, 30))
    box(px, 44, 24, 48, 38, (200, 20, 30))
    return px


def mugs():  # three blue mugs on a wooden table
    px = canvas((235, 235, 225))
    box(px, 0, 40, W, H, (150, 100, 55))
    for x in (14, 42, 70):
        box(px, x, 22, x + 14, 40, (40, 80, 200))
        box(px, x + 14, 27, x + 18, 35, (40, 80, 200))
    return px


def chart():  # a bar chart with its fifth bar tallest
    px = canvas((255, 255, 255))
    box(px, 8, 58, 90, 60, (0, 0, 0))
    for i, h in enumerate((18, 25, 22, 30, 44, 27)):
        box(px, 10 + i * 13, 58 - h, 20 + i * 13, 58, (60, 160, 90))
    return px


def sunset():  # a sun setting over the sea
    px = canvas((250, 170, 90))
    disc(px, 48, 36, 14, (255, 230, 120))
    box(px, 0, 38, W, H, (30, 70, 140))
    return px


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "images")
    os.makedirs(out, exist_ok=True)
    for name, draw in (("bicycle", bicycle), ("mugs", mugs), ("chart", chart), ("sunset", sunset)):
        png(os.path.join(out, name + ".png"), draw())
