"""Draw the add-in's ribbon and store icons as PNG files (run once; the PNGs are committed).

A page with a struck (red) and an inserted (green) line on the brand-blue tile: a redline.
Pure Python (zlib + struct), 4x supersampled for smooth edges; no imaging library needed.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

SIZES = (16, 32, 64, 80)
SUPER = 4
BLUE = (15, 108, 189)
WHITE = (255, 255, 255)
INK = (96, 94, 92)
RED = (196, 49, 75)
GREEN = (16, 124, 16)

# Shapes in unit coordinates (0..1): (x0, y0, x1, y1, radius, colour), painted in order.
SHAPES = (
    (0.0, 0.0, 1.0, 1.0, 0.18, BLUE),
    (0.22, 0.14, 0.78, 0.86, 0.05, WHITE),
    (0.31, 0.28, 0.69, 0.36, 0.0, INK),
    (0.31, 0.46, 0.69, 0.54, 0.0, RED),
    (0.31, 0.64, 0.62, 0.72, 0.0, GREEN),
)


def inside(x: float, y: float, shape: tuple[float, float, float, float, float, object]) -> bool:
    """Whether a point lies in a rounded rectangle."""
    x0, y0, x1, y1, r, _ = shape
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(px: int, py: int, size: int) -> tuple[int, int, int, int]:
    """One RGBA pixel, averaged over SUPER x SUPER samples."""
    total = [0.0, 0.0, 0.0, 0.0]
    for sy in range(SUPER):
        for sx in range(SUPER):
            x = (px + (sx + 0.5) / SUPER) / size
            y = (py + (sy + 0.5) / SUPER) / size
            colour = None
            for shape in SHAPES:
                if inside(x, y, shape):
                    colour = shape[5]
            if colour is not None:
                r, g, b = colour  # type: ignore[misc]
                total = [total[0] + r, total[1] + g, total[2] + b, total[3] + 1]
    n = SUPER * SUPER
    alpha = total[3] / n
    if alpha == 0:
        return (0, 0, 0, 0)
    return (round(total[0] / total[3]), round(total[1] / total[3]), round(total[2] / total[3]),
            round(alpha * 255))


def png(size: int) -> bytes:
    """The icon at one size as PNG bytes (8-bit RGBA, no interlace)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y, size)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main(folder: Path) -> None:
    """Write icon-16.png ... icon-80.png into the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        (folder / f"icon-{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else
         Path(__file__).resolve().parents[1] / "server" / "taskpane" / "assets")
