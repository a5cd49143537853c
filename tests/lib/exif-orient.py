#!/usr/bin/env python3
"""exif-orient.py IN.jpg OUT.jpg N: copy a JPEG adding an EXIF APP1 segment
whose only tag is Orientation = N (1..8). Test helper: gm cannot write one."""
import struct, sys

src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
assert data[:2] == b'\xff\xd8', 'not a JPEG'
tiff = b'MM\x00\x2a' + struct.pack('>I', 8)
tiff += struct.pack('>H', 1) + struct.pack('>HHIHH', 0x0112, 3, 1, n, 0) + struct.pack('>I', 0)
payload = b'Exif\x00\x00' + tiff
app1 = b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload
open(dst, 'wb').write(data[:2] + app1 + data[2:])
