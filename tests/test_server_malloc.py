"""servers/serve.bound_malloc: a server's large freed blocks go back to the system.

With glibc's defaults the mmap threshold rises after each large block freed, so every
later frame or event payload comes from the arenas (one per thread, up to 8 per core)
and its space stays with the process when freed: the soak's LimaSimulator and ScanServer
grew 34 and 46 MB/h with their Python heap flat. Checked in a child process (glibc's
parameters are per process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e  # a child process (glibc's parameters are per process)

CHILD = r"""
import ctypes, sys
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "bound":
    from blisstango.servers.serve import bound_malloc
    bound_malloc()
for _ in range(3):  # frames of earlier acquisitions, freed
    libc.free(libc.malloc(1 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)  # the next frame
print(libc.mallinfo2().hblks - before)
"""


def mapped_blocks_for_the_next_frame(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"}, check=True)
    return int(out.stdout)


def test_a_large_block_is_mapped_of_its_own_after_others_were_freed():
    # the peer: glibc's defaults put the next 1 MiB block in an arena, kept when freed
    assert mapped_blocks_for_the_next_frame("glibc") == 0
    assert mapped_blocks_for_the_next_frame("bound") == 1
