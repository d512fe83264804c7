#!/usr/bin/env python3
"""Checks Tidemark's Grafana dashboards and lists every query in them.

Usage: check_dashboards.py [options] [DASHBOARD.json | DIR ...]
(default: the dashboards/ folder next to this script).

Each dashboard must parse, have a unique uid, schemaVersion and unique panel ids; every panel
other than a row needs a datasource (a provisioned uid, or a datasource variable of the
dashboard), a gridPos inside the 24-column grid that overlaps no other panel, and at least one
target; every target needs a unique refId and an expression of its data source's kind, and may
use only variables the dashboard defines (or Grafana's built-ins). Problems go to stderr and
the exit status is 1; a usage error exits 2.

stdout gets one JSON object per target (with --quiet, none):
  {"dashboard": uid, "panel_id": n, "panel": title, "ref_id": "A", "kind": "promql"|"sql",
   "datasource": {"type": ..., "uid": ...}, "instant": bool, "format": ...,
   "expr": the expression as stored (`expr`, or `rawSql` / `query` for SQL),
   "expanded": the expression as the server would receive it}
"expanded" applies what Grafana does before a query reaches the server: template variables
(each set to its "All" value, else ".*"; --var NAME=VALUE overrides), the built-ins
$__rate_interval, $__interval, $__interval_ms, $__range, $__range_s, $__range_ms, and the SQL
macros of the InfluxDB (SQL) / Flight SQL data sources: $__timeFilter(col), $__timeFrom(),
$__timeTo(), $__dateBin(col), $__dateBinAlias(col), $__timeGroup(col, unit).
With --variables, query variables also get a line:
  {"dashboard": uid, "kind": "variable", "variable": name, "query": ..., "label": ...,
   "match": selector or null, "expanded_match": ...}

Standard library only.
"""

import argparse
import datetime as dt
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "dashboards")
PROVISIONING = os.path.join(HERE, "provisioning", "datasources")

# Data source type -> (kind, target fields holding the expression, in order of preference).
KINDS = {
    "prometheus": ("promql", ("expr",)),
    "influxdb": ("sql", ("rawSql", "query")),
    "influxdata-flightsql-datasource": ("sql", ("rawSql", "queryText", "query")),
}
BUILTIN_VARS = {
    "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
    "__from", "__to", "__dashboard", "__org", "__user", "__name", "__all",
    # SQL macros, expanded by the data source's backend.
    "__timeFilter", "__timeFrom", "__timeTo", "__dateBin", "__dateBinAlias", "__timeGroup",
    "__timeGroupAlias", "__table", "__column",
}
# Grafana's variable syntaxes: $name, ${name}, ${name:format}, [[name]], [[name:format]].
VAR_RE = re.compile(r"\$(\w+)|\$\{(\w+)(?::([^}]+))?\}|\[\[(\w+)(?::(\w+))?\]\]")


def provisioned_datasources():
    """uid -> type from the provisioning YAML (a line scan: no YAML parser in the stdlib)."""
    found = {}
    for path in sorted(glob.glob(os.path.join(PROVISIONING, "*.y*ml"))):
        uid = typ = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].rstrip()
                m = re.match(r"\s*-\s+name:", line)
                if m:
                    if uid and typ:
                        found[uid] = typ
                    uid = typ = None
                m = re.match(r"\s*(uid|type):\s*(\S+)\s*$", line)
                if m:
                    if m.group(1) == "uid":
                        uid = m.group(2).strip("'\"")
                    else:
                        typ = m.group(2).strip("'\"")
        if uid and typ:
            found[uid] = typ
    return found


def walk_panels(panels):
    for p in panels or []:
        yield p
        if p.get("type") == "row":
            yield from walk_panels(p.get("panels"))


def grafana_duration(seconds):
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def rfc3339(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def macro_calls(text, name):
    """(start, end, args) of each $__name(...) call, balancing parentheses."""
    out = []
    for m in re.finditer(r"\$__" + name + r"\b", text):
        i = m.end()
        if i < len(text) and text[i] == "(":
            depth, j = 0, i
            while j < len(text):
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            inner = text[i + 1:j]
            args = [a.strip() for a in inner.split(",")] if inner.strip() else []
            out.append((m.start(), j + 1, args))
        else:
            out.append((m.start(), m.end(), []))
    return out


class Expander:
    def __init__(self, args):
        self.start = args.start
        self.end = args.end
        self.interval = args.interval
        self.rate_interval = args.rate_interval
        self.overrides = args.var

    def builtins(self):
        rng = int((self.end - self.start).total_seconds())
        return {
            "__rate_interval": self.rate_interval,
            "__interval": grafana_duration(self.interval),
            "__interval_ms": str(self.interval * 1000),
            "__range": grafana_duration(rng),
            "__range_s": str(rng),
            "__range_ms": str(rng * 1000),
            "__from": str(int(self.start.timestamp() * 1000)),
            "__to": str(int(self.end.timestamp() * 1000)),
        }

    def variables(self, dashboard):
        values = {}
        for v in dashboard.get("templating", {}).get("list", []):
            name = v.get("name")
            if v.get("type") == "datasource":
                continue
            if v.get("includeAll") and v.get("allValue"):
                values[name] = v["allValue"]
            else:
                values[name] = ".*"
        values.update(self.overrides)
        return values

    def template(self, text, values):
        builtins = self.builtins()

        def sub(m):
            name = m.group(1) or m.group(2) or m.group(4)
            if name in values:
                return values[name]
            if name in builtins:
                return builtins[name]
            return m.group(0)

        return VAR_RE.sub(sub, text)

    def sql_macros(self, text):
        frm, to = rfc3339(self.start), rfc3339(self.end)
        n = int(self.interval)

        def time_group(args, alias):
            col, unit = args[0], args[1]
            units = ["minute", "hour", "day", "month", "year"]
            parts = units[units.index(unit):] if unit in units else []
            return ",".join(
                f"datepart('{u}', {col})" + (f" as {col}_{u}" if alias else "") for u in parts)

        macros = {
            "timeFilter": lambda a: f"{a[0]} >= '{frm}' AND {a[0]} <= '{to}'",
            "timeFrom": lambda a: f"cast('{frm}' as timestamp)",
            "timeTo": lambda a: f"cast('{to}' as timestamp)",
            "dateBinAlias": lambda a: (f"date_bin(interval '{n} second', {a[0]}, "
                                       f"timestamp '1970-01-01T00:00:00Z') as {a[0]}_binned"),
            "dateBin": lambda a: (f"date_bin(interval '{n} second', {a[0]}, "
                                  f"timestamp '1970-01-01T00:00:00Z')"),
            "timeGroupAlias": lambda a: time_group(a, True),
            "timeGroup": lambda a: time_group(a, False),
        }
        for name, fn in macros.items():
            while True:
                calls = macro_calls(text, name)
                if not calls:
                    break
                s, e, args = calls[0]
                text = text[:s] + fn(args) + text[e:]
        return text


def check_dashboard(path, doc, provisioned, problems, seen_uids):
    def bad(msg):
        problems.append(f"{path}: {msg}")

    if not isinstance(doc, dict):
        bad("not a JSON object")
        return
    uid = doc.get("uid")
    if not uid or not isinstance(uid, str):
        bad("no uid")
    elif uid in seen_uids:
        bad(f"uid {uid!r} also used by {seen_uids[uid]}")
    else:
        seen_uids[uid] = path
    for key in ("title", "schemaVersion", "panels"):
        if key not in doc:
            bad(f"no {key}")

    variables = {}
    for v in doc.get("templating", {}).get("list", []):
        if not v.get("name"):
            bad("a template variable has no name")
            continue
        if v["name"] in variables:
            bad(f"template variable {v['name']!r} defined twice")
        variables[v["name"]] = v
    ds_vars = {n: v.get("query") for n, v in variables.items() if v.get("type") == "datasource"}

    def resolve(ds, where):
        """The data source type of a panel or target datasource reference."""
        if not isinstance(ds, dict) or not ds.get("uid"):
            bad(f"{where}: no datasource uid")
            return None
        uid_ = ds["uid"]
        m = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", uid_)
        if m:
            name = m.group(1) or m.group(2)
            if name not in ds_vars:
                bad(f"{where}: datasource {uid_} is not a datasource variable of the dashboard")
                return None
            typ = ds_vars[name]
        else:
            if provisioned and uid_ not in provisioned:
                bad(f"{where}: datasource uid {uid_!r} is not provisioned "
                    f"(known: {', '.join(sorted(provisioned))})")
                return None
            typ = provisioned.get(uid_, ds.get("type"))
        if ds.get("type") and typ and ds["type"] != typ:
            bad(f"{where}: datasource type {ds['type']!r} but {uid_!r} is {typ!r}")
        return typ

    for n, v in variables.items():
        if v.get("type") == "query":
            resolve(v.get("datasource"), f"variable {n}")

    ids, boxes = set(), []
    for p in walk_panels(doc.get("panels")):
        title = p.get("title")
        where = f"panel {p.get('id')} {title!r}"
        pid = p.get("id")
        if not isinstance(pid, int):
            bad(f"{where}: no integer id")
        elif pid in ids:
            bad(f"{where}: duplicate panel id")
        else:
            ids.add(pid)
        gp = p.get("gridPos")
        if not isinstance(gp, dict) or not all(isinstance(gp.get(k), int) for k in "xywh"):
            bad(f"{where}: gridPos needs integer x, y, w, h")
        else:
            if gp["x"] < 0 or gp["y"] < 0 or gp["w"] < 1 or gp["h"] < 1 or gp["x"] + gp["w"] > 24:
                bad(f"{where}: gridPos {gp} outside the 24-column grid")
            for other, ob in boxes:
                if (gp["x"] < ob["x"] + ob["w"] and ob["x"] < gp["x"] + gp["w"]
                        and gp["y"] < ob["y"] + ob["h"] and ob["y"] < gp["y"] + gp["h"]):
                    bad(f"{where}: gridPos overlaps {other}")
            boxes.append((where, gp))
        if p.get("type") == "row":
            continue
        if not title:
            bad(f"{where}: no title")
        ptype = resolve(p.get("datasource"), where)
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            bad(f"{where}: no targets")
            continue
        refs = set()
        for t in targets:
            ref = t.get("refId")
            twhere = f"{where} target {ref}"
            if not ref:
                bad(f"{twhere}: no refId")
            elif ref in refs:
                bad(f"{twhere}: duplicate refId")
            refs.add(ref)
            ttype = resolve(t["datasource"], twhere) if "datasource" in t else ptype
            if ttype not in KINDS:
                if ttype is not None:
                    bad(f"{twhere}: unsupported datasource type {ttype!r}")
                continue
            kind, fields = KINDS[ttype]
            expr = next((t[f] for f in fields if isinstance(t.get(f), str) and t[f].strip()), None)
            if expr is None:
                bad(f"{twhere}: no expression ({' / '.join(fields)})")
                continue
            for m in VAR_RE.finditer(expr):
                name = m.group(1) or m.group(2) or m.group(4)
                if name not in variables and name not in BUILTIN_VARS:
                    bad(f"{twhere}: unknown variable ${name}")
            yield {
                "dashboard": uid, "panel_id": pid, "panel": title, "ref_id": ref, "kind": kind,
                "datasource": {"type": ttype, "uid": (t.get("datasource") or p.get("datasource"))["uid"]},
                "instant": bool(t.get("instant")), "format": t.get("format"), "expr": expr,
            }


def variable_lines(doc, expander):
    values = expander.variables(doc)
    for v in doc.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        q = q or v.get("definition") or ""
        m = re.fullmatch(r"\s*label_values\(\s*(?:(.*),\s*)?(\w+)\s*\)\s*", q, re.S)
        match = m.group(1) if m else None
        yield {
            "dashboard": doc.get("uid"), "kind": "variable", "variable": v.get("name"), "query": q,
            "label": m.group(2) if m else None, "match": match,
            "expanded_match": expander.template(match, values) if match else None,
        }


def parse_time(s):
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {s}")


def parse_var(s):
    if "=" not in s:
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return tuple(s.split("=", 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", help="dashboard files or folders (default: dashboards/)")
    ap.add_argument("--start", type=parse_time, help="range start, RFC 3339 (default: end - 1h)")
    ap.add_argument("--end", type=parse_time, help="range end, RFC 3339 (default: now, whole seconds)")
    ap.add_argument("--interval", type=int, default=60, help="$__interval in seconds (default 60)")
    ap.add_argument("--rate-interval", default="1m", help="$__rate_interval (default 1m)")
    ap.add_argument("--var", type=parse_var, action="append", default=[], metavar="NAME=VALUE",
                    help="value of a template variable in \"expanded\" (default: its All value)")
    ap.add_argument("--variables", action="store_true", help="also print query variables")
    ap.add_argument("-q", "--quiet", action="store_true", help="check only, print no queries")
    args = ap.parse_args()
    args.var = dict(args.var)
    if args.end is None:
        args.end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if args.start is None:
        args.start = args.end - dt.timedelta(hours=1)
    if args.start > args.end or args.interval < 1:
        ap.error("need --start <= --end and --interval >= 1")

    files = []
    for p in args.paths or [DEFAULT_DIR]:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    if not files:
        print("no dashboards found", file=sys.stderr)
        return 1

    provisioned = provisioned_datasources()
    expander = Expander(args)
    problems, seen_uids, lines = [], {}, []
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            problems.append(f"{path}: {e}")
            continue
        values = expander.variables(doc) if isinstance(doc, dict) else {}
        for line in check_dashboard(path, doc, provisioned, problems, seen_uids):
            expanded = expander.template(line["expr"], values)
            if line["kind"] == "sql":
                expanded = expander.sql_macros(expanded)
            left = [m.group(0) for m in VAR_RE.finditer(expanded)]
            if left:
                problems.append(f"{path}: panel {line['panel_id']} target {line['ref_id']}: "
                                f"unexpanded {', '.join(left)}")
            line["expanded"] = expanded
            lines.append(line)
        if args.variables and isinstance(doc, dict):
            lines += variable_lines(doc, expander)

    if not args.quiet:
        for line in lines:
            print(json.dumps(line, ensure_ascii=False))
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{len(files)} dashboards, {sum(1 for l in lines if l['kind'] != 'variable')} targets: ok",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
