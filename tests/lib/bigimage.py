#!/usr/bin/env python3
# bigimage.py FILE SIDE [smooth]: a SIDE x SIDE 8-bit RGB PNG made row by
# row in a few MB of memory and a second or two (gm holds every pixel to
# make one): red a gradient top to bottom, blue one left to right, green a
# 1-pixel black/white checker (smooth: flat 50 % grey, for lossy encoders,
# whose ringing on the checker clips). An area average turns the checker
# into flat grey; point sampling would keep black or white, so a comparison
# against a proper resize (PSNR) tells the two apart. It compresses well.
import struct
import sys
import zlib


def chunk(out, kind, data):
    out.write(struct.pack('>I', len(data)) + kind + data)
    out.write(struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def main():
    path, side = sys.argv[1], int(sys.argv[2])
    smooth = len(sys.argv) > 3 and sys.argv[3] == 'smooth'
    w = h = side
    base = bytearray(3 * w)
    base[2::3] = bytes(x * 255 // (w - 1) for x in range(w))
    rows = []
    for parity in (0, 1):
        r = bytearray(base)
        r[1::3] = bytes(128 if smooth else 255 * ((x + parity) & 1) for x in range(w))
        rows.append(r)
    z = zlib.compressobj(6)
    with open(path, 'wb') as out:
        out.write(b'\x89PNG\r\n\x1a\n')
        chunk(out, b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
        for y in range(h):
            r = rows[y & 1]
            r[0::3] = bytes([y * 255 // (h - 1)]) * w
            data = z.compress(b'\0' + bytes(r))
            if data:
                chunk(out, b'IDAT', data)
        chunk(out, b'IDAT', z.flush())
        chunk(out, b'IEND', b'')


main()
