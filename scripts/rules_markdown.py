"""Turns `artifact rule --all --format json` (stdin) into the sections of docs/rules.md."""
import json
import sys

for rule in json.load(sys.stdin):
    fix = "Autofix: %s." % rule["autofix"] if rule["autofix"] else "No autofix."
    print("## %s %s\n" % (rule["code"], rule["name"]))
    print("Default severity: %s. %s\n" % (rule["severity"], fix))
    print(rule["doc"].replace("## ", "### ") + "\n")
