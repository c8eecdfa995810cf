#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Turns a text file into a C string, so the daemon carries its default
# configuration without reading anything at run time.
import sys

src, symbol, out = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, 'rb') as f:
    data = f.read()
lines = []
for i in range(0, len(data), 16):
    lines.append('\t' + ' '.join('0x%02x,' % b for b in data[i:i + 16]))
with open(out, 'w') as f:
    f.write('/* Generated from %s by scripts/embed.py: do not edit. */\n' % src.split('/')[-1])
    f.write('extern const char %s[];\n' % symbol)
    f.write('const char %s[] = {\n%s\n\t0x00\n};\n' % (symbol, '\n'.join(lines)))
