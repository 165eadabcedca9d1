"""Validates custom resources against their CustomResourceDefinitions' OpenAPI v3 schemas,
strictly, as the API server's strict field validation does: a field the schema does not
declare is an error (unless the schema keeps unknown fields), and so is a kind, group or
version no CRD serves. kubernetes-validate knows only the built-in kinds.

    python validate-custom-resources.py CRD_DIR FILE...

Prints one line per problem; exits 1 if there is any. Runs with kubernetes-validate's venv
(.tools/venv: jsonschema and PyYAML).
"""
import copy
import glob
import os
import sys

import jsonschema
import yaml


def strict(schema):
    """The schema with additionalProperties false wherever properties are declared and unknown fields are not kept."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def load_crds(directory):
    served = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path) as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                for version in spec["versions"]:
                    if not version.get("served"):
                        continue
                    key = (f'{spec["group"]}/{version["name"]}', spec["names"]["kind"])
                    served[key] = (spec["scope"], strict(version["schema"]["openAPIV3Schema"]))
    return served


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    served = load_crds(argv[1])
    if not served:
        print(f"{argv[1]}: no CustomResourceDefinition", file=sys.stderr)
        return 2
    problems = 0
    for path in argv[2:]:
        with open(path) as f:
            for index, doc in enumerate(yaml.safe_load_all(f)):
                if doc is None:
                    continue
                where = f'{path}#{index} {doc.get("kind")} {doc.get("metadata", {}).get("name")}'
                found = served.get((doc.get("apiVersion"), doc.get("kind")))
                if found is None:
                    print(f'{where}: no CRD serves {doc.get("apiVersion")} {doc.get("kind")}')
                    problems += 1
                    continue
                scope, schema = found
                if scope == "Namespaced" and not doc.get("metadata", {}).get("namespace"):
                    print(f"{where}: a namespaced kind without metadata.namespace")
                    problems += 1
                validator = jsonschema.Draft7Validator(schema)
                for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                    field = ".".join(str(p) for p in error.absolute_path) or "(root)"
                    print(f"{where}: {field}: {error.message}")
                    problems += 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
