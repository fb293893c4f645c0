#!/usr/bin/env python3
"""Checks JSON lines against a JSON Schema (draft 2020-12) of Docs/schemas.

    json_schema_check.py SCHEMA.json FILE.jsonl [FILE.jsonl ...]

Every non-empty line of every file must be one JSON value valid under the schema; the schema
itself must be a valid draft 2020-12 schema. Prints `FILE:LINE: path: message` for each
problem and exits 1 when there is one (2 for a bad schema), 0 otherwise. Used by the tests
(Tests/CLITests/JSONSchemaTests.swift) on the output of the commands, in the Python
environment `make pyenv` creates (jsonschema from PyPI).
"""

import json
import sys

from jsonschema import Draft202012Validator


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as e:  # the schema's own fault, not the output's
        print(f"{argv[1]}: not a valid draft 2020-12 schema: {e}", file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema)
    problems = 0
    lines = 0
    for name in argv[2:]:
        with open(name, encoding="utf-8") as f:
            for number, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                lines += 1
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as e:
                    print(f"{name}:{number}: not JSON: {e}")
                    problems += 1
                    continue
                for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
                    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
                    print(f"{name}:{number}: {where}: {error.message}")
                    problems += 1
    if lines == 0:
        print("no JSON lines to check")
        return 1
    print(f"{lines} lines checked against {argv[1]}: {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
