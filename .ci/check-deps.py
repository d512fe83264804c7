#!/usr/bin/env python3
"""Fails when a crate breaks the dependency rules of docs/architecture.md."""
import json
import subprocess
import sys

TIERS = {"tidemark-ingest", "tidemark-query", "tidemark-tiering"}
WIRING = {"tidemark-server", "tidemark-bench"}
# Languages: pure parsers any tier may use; they depend on no workspace crate.
LANGUAGES = {"tidemark-influxql"}
# External crates only one tier may use, and which tier.
OWNED = {
    "datafusion": "tidemark-query",
    "fjall": "tidemark-storage",
    "foundationdb": "tidemark-storage",
    "foundationdb-sys": "tidemark-storage",
    "object_store": "tidemark-storage",
}

metadata = json.loads(
    subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps"])
)
workspace = {package["name"] for package in metadata["packages"]}
errors = []
for package in metadata["packages"]:
    name = package["name"]
    for dep in package["dependencies"]:
        if dep["kind"] == "dev":
            continue
        target = dep["name"]
        if target in workspace:
            if target in WIRING:
                errors.append(f"{name} depends on {target}: nothing may depend on the binaries")
            elif name in LANGUAGES:
                errors.append(f"{name} depends on {target}: a language crate depends on no workspace crate")
            elif name == "tidemark-storage":
                errors.append(f"tidemark-storage depends on {target}: storage depends on no tier")
            elif name in TIERS and target != "tidemark-storage" and target not in LANGUAGES:
                errors.append(f"{name} depends on {target}: tiers depend only on tidemark-storage and the language crates")
        owner = OWNED.get(target) or next(
            (tier for prefix, tier in OWNED.items() if target.startswith(prefix + "-")), None
        )
        if owner and name != owner and name not in WIRING:
            errors.append(f"{name} depends on {target}: only {owner} may")
for error in errors:
    print(f"dependency rule broken: {error}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"dependency rules hold for {len(workspace)} crates")
