"""Walks every opcode with pickletools.genops (the floor for Python-based scanners)."""
import pickletools
import sys

with open(sys.argv[1], "rb") as f:
    n = sum(1 for _ in pickletools.genops(f))
print(n)
