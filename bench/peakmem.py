"""Runs a command and prints the peak of its anonymous and file-backed resident memory.

python peakmem.py CMD...: samples /proc/PID/status every millisecond while CMD runs and prints
"<peak RssAnon KiB> <peak RssFile KiB> <VmHWM KiB> <exit code>". The kernel's VmHWM is the
peak of their sum; the split is what a container limit has to plan for (anonymous memory
cannot be reclaimed, the artifact's mapped page-cache pages can).
"""

import subprocess
import sys
import time


def main() -> None:
    child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    key, _, value = line.partition(":")
                    if key in peak:
                        peak[key] = max(peak[key], int(value.split()[0]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            break
        time.sleep(0.001)
    print(peak["RssAnon"], peak["RssFile"], peak["VmHWM"], child.returncode)


if __name__ == "__main__":
    main()
