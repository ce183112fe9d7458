"""Runs a command and prints the peak of its anonymous and file-backed resident memory.

python peakmem.py CMD...: samples /proc/PID/status of CMD and of every process under it
(summed: `sh -c` runs the tool as a child) every millisecond, and prints "<peak RssAnon KiB>
<peak RssFile KiB> <peak RSS KiB> <exit code>". The split is what a container limit has to
plan for: anonymous memory cannot be reclaimed, the artifact's mapped page-cache pages can.
"""

import subprocess
import sys
import time


def main() -> None:
    child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = {"RssAnon": 0, "RssFile": 0, "VmRSS": 0}
    while child.poll() is None:
        now = dict.fromkeys(peak, 0)
        for pid in tree(child.pid):
            try:
                with open(f"/proc/{pid}/status") as status:
                    for line in status:
                        key, _, value = line.partition(":")
                        if key in now:
                            now[key] += int(value.split()[0])
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
        for key, value in now.items():
            peak[key] = max(peak[key], value)
        time.sleep(0.001)
    print(peak["RssAnon"], peak["RssFile"], peak["VmRSS"], child.returncode)


def tree(pid: int) -> list[int]:
    """`pid` and every process under it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as children:
                todo.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


if __name__ == "__main__":
    main()
