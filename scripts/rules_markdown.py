"""Turns `artifact rule --all --format json` (stdin) into the sections of docs/rules.md."""
import json
import sys

for rule in json.load(sys.stdin):
    if not rule["autofix"]:
        fix = "No autofix."
    elif rule["fix_safety"] == "unsafe":
        fix = "Autofix: %s (outputs may move within floating-point noise)." % rule["autofix"]
    else:
        fix = "Autofix: %s (outputs stay identical)." % rule["autofix"]
    print("## %s %s\n" % (rule["code"], rule["name"]))
    print("Family: %s. Default severity: %s. %s Since %s.\n"
          % (rule["family"], rule["severity"], fix, rule["since"]))
    print(rule["doc"].replace("## ", "### ") + "\n")
