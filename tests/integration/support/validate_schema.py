"""Validates TOML files against a JSON Schema with an independent validator (Python
jsonschema, Draft 2020-12). Prints one JSON object: {file: [error messages]}."""
import json
import sys
import tomllib

import jsonschema

schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
results = {}
for path in sys.argv[2:]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        results[path] = [f"unparsable: {e}"]
        continue
    results[path] = [e.message for e in validator.iter_errors(data)]
print(json.dumps(results))
