#!/usr/bin/env python3
"""Checks escucha's Grafana dashboards against a real ClickHouse.

    scripts/check-grafana.py [--require-data]       the database in $ESCUCHA_CLICKHOUSE_DATABASE
    scripts/check-grafana.py --with-schema          a temporary database made from the migrations
    scripts/check-grafana.py --with-demo-data --require-data
                                                    a temporary database filled by `escucha run`
                                                    from `escucha demo` through a private broker,
                                                    figures cross-checked against the API
    scripts/check-grafana.py --self-test            broken dashboards must fail

Every dashboard JSON in dashboards/grafana/ is loaded and its structure checked:
unique dashboard uids and panel ids, known data source uids (from
dashboards/grafana/datasources/*.yaml), SQL in every target, template
variables that exist for every reference, `FINAL` on every read of escucha's
tables, and the provisioning paths in docker-compose.yml. Then every variable
query and every panel query is expanded the way grafana-clickhouse-datasource
does it ($__conditionalAll, template variables with their formats, then the
backend macros $__timeFilter, $__fromTime, $__toTime, $__timeInterval, …) over
the last 90 days, and run on ClickHouse at $ESCUCHA_CLICKHOUSE_URL (default
http://127.0.0.1:8123): once with every variable on "All" and once with each
narrowed to its first value. Any server error fails the check (exit 1) with
the panel and the server's message; with --require-data a panel that returns
no rows in the "All" pass fails too.

Python 3 standard library only.
"""

import argparse
import base64
import copy
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASHBOARDS = os.path.join(ROOT, "dashboards", "grafana")
MIGRATIONS = os.path.join(ROOT, "crates", "escucha-clickhouse", "migrations")
PIPELINES = os.path.join(ROOT, "pipelines")
PLUGIN = "grafana-clickhouse-datasource"
ESCUCHA_TABLES = ("interactions", "turns", "labels")
DAY = 86400


# ---------------------------------------------------------------------------
# ClickHouse over HTTP


class ClickHouse:
    def __init__(self, url, database, user=None, password=None, timeout=120):
        self.url = url.rstrip("/")
        self.database = database
        self.user = user
        self.password = password or ""
        self.timeout = timeout

    def _request(self, sql, params, database=True):
        query = dict(params)
        if database and self.database:
            query["database"] = self.database
        url = self.url + "/?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=sql.encode("utf-8"), method="POST")
        if self.user:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace").strip()
            raise QueryError(body or f"HTTP {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            raise QueryError(f"cannot reach ClickHouse at {self.url}: {e}") from None

    def execute(self, sql, database=True):
        """Runs a statement (DDL), returns its text output."""
        return self._request(sql, {}, database=database)

    def select(self, sql):
        """Runs a read-only query; returns (column names, rows)."""
        sql = sql.strip().rstrip(";").strip()
        text = self._request(sql + "\nFORMAT JSONCompact", {"readonly": "1"})
        try:
            doc = json.loads(text)
        except ValueError:
            raise QueryError("unparseable response: " + text[:300]) from None
        return [m["name"] for m in doc.get("meta", [])], doc.get("data", [])


class QueryError(Exception):
    pass


def one_line(message, limit=600):
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


# ---------------------------------------------------------------------------
# Expanding a query the way the plugin does


def find_call_args(text, open_index):
    """Arguments of the call whose '(' is at open_index, split on top-level
    commas (as the plugin's getMacroArgs does); returns (args, close_index)."""
    depth = 0
    args = []
    start = open_index + 1
    for i in range(open_index, len(text)):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append(text[start:i])
                return args, i
        elif c == "," and depth == 1:
            args.append(text[start:i])
            start = i + 1
    raise ValueError("unbalanced parentheses after " + text[max(0, open_index - 20):open_index + 1])


def apply_conditional_all(sql, selection):
    """$__conditionalAll(condition, $var): the condition, or 1=1 when the
    variable selects everything (the plugin's frontend does this first)."""
    macro = "$__conditionalAll("
    i = sql.rfind(macro)
    while i != -1:
        args, close = find_call_args(sql, i + len(macro) - 1)
        if len(args) != 2:
            raise ValueError("$__conditionalAll takes 2 arguments, got %d" % len(args))
        name = args[1].strip()
        if not name.startswith("$"):
            raise ValueError("second argument of $__conditionalAll must be $variable, got " + name)
        value = selection.get(name[1:].strip("{}"))
        everything = value is None or value == ALL or value == "" or value == [""]
        sql = sql[:i] + ("1=1" if everything else args[0]) + sql[close + 1:]
        i = sql.rfind(macro)
    return sql


ALL = object()  # a variable on "All"

VAR_RE = re.compile(
    r"\$(\w+)"  # $var
    r"|\[\[(\w+)(?::(\w+))?\]\]"  # [[var]] / [[var:format]]
    r"|\$\{(\w+)(?::([^}]+))?\}"  # ${var} / ${var:format}
)


def var_references(text):
    """Names of the dashboard variables referenced in text (not $__ macros)."""
    names = set()
    for m in VAR_RE.finditer(text or ""):
        name = m.group(1) or m.group(2) or m.group(4)
        if name and not name.startswith("__"):
            names.add(name)
    return names


def format_values(values, fmt):
    """Grafana's variable formats (the ones SQL dashboards use)."""
    if fmt in (None, ""):
        # The plugin's own formatter: lists become 'a','b'; a single value is raw.
        if len(values) == 1:
            return values[0]
        return "'" + "','".join(values) + "'"
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    if fmt in ("csv", "raw", "text"):
        return ",".join(values)
    if fmt == "pipe":
        return "|".join(values)
    raise ValueError("unsupported variable format :" + fmt)


def apply_variables(sql, selection, options, builtins):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(5)
        if name in builtins:
            return builtins[name]
        if name not in selection:
            return m.group(0)  # left for the macros, or reported as unknown
        value = selection[name]
        if value is ALL:
            values = options.get(name) or [""]
        elif isinstance(value, list):
            values = value
        else:
            values = [value]
        return format_values([str(v) for v in values], fmt)

    return VAR_RE.sub(repl, sql)


def to_datetime(t):
    return "toDateTime(%d)" % t


def apply_macros(sql, t_from, t_to, interval_s):
    """The backend macros of grafana-clickhouse-datasource (pkg/macros)."""

    def one(args, n, name):
        if len(args) != n:
            raise ValueError(f"$__{name} expects {n} argument(s), received {len(args)}")
        return [a.strip() for a in args]

    def from_ms():
        return "fromUnixTimestamp64Milli(%d)" % (t_from * 1000)

    def to_ms():
        return "fromUnixTimestamp64Milli(%d)" % (t_to * 1000)

    def date(t):
        return "toDate('%s')" % time.strftime("%Y-%m-%d", time.gmtime(t))

    def expand(name, args):
        if name == "fromTime":
            return to_datetime(t_from)
        if name == "toTime":
            return to_datetime(t_to)
        if name == "fromTime_ms":
            return from_ms()
        if name == "toTime_ms":
            return to_ms()
        if name == "timeFilter":
            (c,) = one(args, 1, name)
            return f"{c} >= {to_datetime(t_from)} AND {c} <= {to_datetime(t_to)}"
        if name == "timeFilter_ms":
            (c,) = one(args, 1, name)
            return f"{c} >= {from_ms()} AND {c} <= {to_ms()}"
        if name == "dateFilter":
            (c,) = one(args, 1, name)
            return f"{c} >= {date(t_from)} AND {c} <= {date(t_to)}"
        if name in ("dateTimeFilter", "dt"):
            d, c = one(args, 2, name)
            return (f"({d} >= {date(t_from)} AND {d} <= {date(t_to)}) AND "
                    f"({c} >= {to_datetime(t_from)} AND {c} <= {to_datetime(t_to)})")
        if name == "timeInterval":
            (c,) = one(args, 1, name)
            return f"toStartOfInterval(toDateTime({c}), INTERVAL {max(interval_s, 1)} second)"
        if name == "timeInterval_ms":
            (c,) = one(args, 1, name)
            return (f"toStartOfInterval(toDateTime64({c}, 3), "
                    f"INTERVAL {max(interval_s * 1000, 1)} millisecond)")
        if name == "interval_s":
            return str(max(interval_s, 1))
        return None

    names = ["fromTime_ms", "toTime_ms", "fromTime", "toTime", "timeFilter_ms", "timeFilter",
             "dateTimeFilter", "dateFilter", "dt", "timeInterval_ms", "timeInterval", "interval_s"]
    pattern = re.compile(r"\$__(" + "|".join(names) + r")\b")
    out = []
    pos = 0
    while True:
        m = pattern.search(sql, pos)
        if not m:
            out.append(sql[pos:])
            break
        out.append(sql[pos:m.start()])
        name = m.group(1)
        end = m.end()
        args = []
        if end < len(sql) and sql[end] == "(":
            args, close = find_call_args(sql, end)
            if args == [""]:
                args = []
            end = close + 1
        out.append(expand(name, args))
        pos = end
    return "".join(out)


def grafana_interval(seconds):
    """Grafana's $__interval text for a number of seconds."""
    for unit, size in (("d", DAY), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def expand(sql, selection, options, t_from, t_to):
    """What ClickHouse receives for a panel's rawSql."""
    interval_s = max(1, (t_to - t_from) // 1000)  # about 1,000 points, like a wide panel
    builtins = {
        "__from": str(t_from * 1000),
        "__to": str(t_to * 1000),
        "__interval": grafana_interval(interval_s),
        "__interval_ms": str(interval_s * 1000),
        "__range_s": str(t_to - t_from),
        "__range_ms": str((t_to - t_from) * 1000),
        "__range": grafana_interval(t_to - t_from),
    }
    sql = apply_conditional_all(sql, selection)
    sql = apply_variables(sql, selection, options, builtins)
    sql = apply_macros(sql, t_from, t_to, interval_s)
    left = [m.group(0) for m in re.finditer(r"\$\{?\w+", strip_strings(sql))]
    if left:
        raise ValueError("not expanded: " + ", ".join(sorted(set(left))))
    return sql


def strip_strings(sql):
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", sql)


# ---------------------------------------------------------------------------
# Dashboards


class Report:
    def __init__(self):
        self.failures = []
        self.warnings = []
        self.queries = 0

    def fail(self, where, message):
        self.failures.append((where, message))
        print(f"FAIL  {where}: {one_line(message)}", flush=True)

    def warn(self, where, message):
        self.warnings.append((where, message))
        print(f"warn  {where}: {one_line(message)}", flush=True)


def known_datasources(directory):
    uids = set()
    for path in sorted(glob.glob(os.path.join(directory, "datasources", "*.y*ml"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*(?:-\s+)?uid:\s*['\"]?([\w.-]+)", line)
                if m:
                    uids.add(m.group(1))
    return uids


def load_dashboards(directory, report):
    boards = []
    for path in sorted(glob.glob(os.path.join(directory, "**", "*.json"), recursive=True)):
        rel = os.path.relpath(path, directory)
        try:
            with open(path, encoding="utf-8") as f:
                board = json.load(f)
        except (OSError, ValueError) as e:
            report.fail(rel, f"not valid JSON: {e}")
            continue
        if not isinstance(board, dict) or "panels" not in board:
            report.fail(rel, "not a dashboard (no panels)")
            continue
        boards.append((rel, board))
    if not boards:
        report.fail(directory, "no dashboard JSON found")
    return boards


def all_panels(board):
    for panel in board.get("panels", []):
        yield panel
        for inner in panel.get("panels", []) or []:
            yield inner


def panel_name(rel, board, panel):
    return f"{board.get('uid', rel)} / panel {panel.get('id')} \"{panel.get('title', '')}\""


def check_datasource(ds, where, known, report):
    if ds is None:
        return
    if isinstance(ds, str):
        report.fail(where, f"datasource given by name ({ds!r}); use {{type, uid}}")
        return
    if ds.get("uid") not in known:
        report.fail(where, f"unknown datasource uid {ds.get('uid')!r} (known: {', '.join(sorted(known))})")
    if ds.get("type") not in (None, PLUGIN):
        report.fail(where, f"datasource type {ds.get('type')!r} is not {PLUGIN}")


READ_RE = re.compile(r"\bFROM\s+(?:[`\"]?\w+[`\"]?\.)?[`\"]?(\w+)[`\"]?(\s+FINAL\b)?", re.I)


def check_final(sql, where, report):
    for m in READ_RE.finditer(strip_strings(sql)):
        if m.group(1) in ESCUCHA_TABLES and not m.group(2):
            report.fail(where, f"reads {m.group(1)} without FINAL (replayed rows would count twice)")


def check_structure(boards, known, report):
    """Everything that needs no database. Returns the query jobs."""
    uids = {}
    jobs = []
    for rel, board in boards:
        uid = board.get("uid")
        if not uid:
            report.fail(rel, "dashboard without uid")
        elif uid in uids:
            report.fail(rel, f"dashboard uid {uid!r} also used by {uids[uid]}")
        else:
            uids[uid] = rel
        if not board.get("title"):
            report.fail(rel, "dashboard without title")
        variables = board.get("templating", {}).get("list", []) or []
        names = set()
        for v in variables:
            name = v.get("name")
            where = f"{uid or rel} / variable {name}"
            if not name:
                report.fail(f"{uid or rel}", "template variable without name")
                continue
            if name in names:
                report.fail(where, "variable defined twice")
            names.add(name)
            if v.get("type") == "query":
                check_datasource(v.get("datasource"), where, known, report)
                sql = variable_sql(v)
                if not sql.strip():
                    report.fail(where, "query variable without SQL")
                else:
                    check_final(sql, where, report)
        for v in variables:
            if v.get("type") == "query":
                for ref in var_references(variable_sql(v)) - names:
                    report.fail(f"{uid or rel} / variable {v.get('name')}", f"references undefined variable ${ref}")
        ids = {}
        for panel in all_panels(board):
            pid = panel.get("id")
            where = panel_name(rel, board, panel)
            if not isinstance(pid, int):
                report.fail(where, "panel id missing or not an integer")
            elif pid in ids:
                report.fail(where, f"panel id {pid} also used by \"{ids[pid]}\"")
            else:
                ids[pid] = panel.get("title", "")
            if not isinstance(panel.get("gridPos"), dict):
                report.fail(where, "panel without gridPos")
            for ref in var_references(panel.get("title", "")) - names:
                report.fail(where, f"title references undefined variable ${ref}")
            if panel.get("type") == "row":
                continue
            check_datasource(panel.get("datasource"), where, known, report)
            targets = panel.get("targets") or []
            if not targets:
                report.fail(where, "panel without targets")
            for t in targets:
                twhere = f"{where} target {t.get('refId', '?')}"
                check_datasource(t.get("datasource") or panel.get("datasource"), twhere, known, report)
                sql = t.get("rawSql") or ""
                if not sql.strip():
                    report.fail(twhere, "target without SQL (rawSql)")
                    continue
                if t.get("editorType") not in (None, "sql"):
                    report.warn(twhere, f"editorType {t.get('editorType')!r}: the builder regenerates rawSql")
                check_final(sql, twhere, report)
                undefined = var_references(sql) - names
                for ref in sorted(undefined):
                    report.fail(twhere, f"references undefined variable ${ref}")
                if not undefined:
                    jobs.append((board, panel, t, twhere))
    return jobs


def variable_sql(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("rawSql") or q.get("query") or ""
    return q or v.get("definition") or ""


def check_compose(directory, report):
    """docker-compose.yml mounts what the provisioning files expect."""
    compose = os.path.join(ROOT, "docker-compose.yml")
    if not os.path.exists(compose) or os.path.abspath(directory) != os.path.abspath(DASHBOARDS):
        return
    with open(compose, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH:\s*(\S+)", text)
    mounts = dict((dst, src) for src, dst in re.findall(r"-\s+(\./[^:\s]+):(/[^:\s]+)", text))
    if m:
        home = m.group(1).strip("'\"")
        local = None
        for dst, src in mounts.items():
            if home.startswith(dst.rstrip("/") + "/"):
                local = os.path.join(ROOT, src, os.path.relpath(home, dst))
        if not local or not os.path.exists(local):
            report.fail("docker-compose.yml", f"home dashboard {home} is not a mounted dashboard file")
    provider = os.path.join(ROOT, "deploy", "grafana", "dashboards.yaml")
    if os.path.exists(provider):
        with open(provider, encoding="utf-8") as f:
            paths = re.findall(r"^\s*path:\s*(\S+)", f.read(), re.M)
        for p in paths:
            if not any(p.rstrip("/") == dst.rstrip("/") for dst in mounts):
                report.fail("deploy/grafana/dashboards.yaml", f"provider path {p} is not mounted in docker-compose.yml")


def run_checks(directory, ch, days=90, require_data=False, report=None, quiet=False, t_to=None):
    """Structure checks, then every query on ClickHouse over [t_to - days, t_to]
    (default: up to now). Returns the report and the results of the "All" pass:
    {(dashboard uid, panel title): (columns, rows)}."""
    report = report or Report()
    known = known_datasources(directory)
    if not known:
        report.fail(directory, "no data source uid found in datasources/*.yaml")
    boards = load_dashboards(directory, report)
    jobs = check_structure(boards, known, report)
    check_compose(directory, report)

    t_to = t_to or int(time.time())
    t_from = t_to - days * DAY
    results = {}
    for rel, board in boards:
        variables = board.get("templating", {}).get("list", []) or []
        uid = board.get("uid", rel)
        # Variable queries run first: their values are the options.
        options, first, current = {}, {}, {}
        for v in variables:
            name = v.get("name")
            if v.get("type") == "query":
                sql = variable_sql(v)
                where = f"{uid} / variable {name}"
                try:
                    sql = expand(sql, {}, {}, t_from, t_to)
                    report.queries += 1
                    _, rows = ch.select(sql)
                    options[name] = [str(r[-1] if len(r) > 1 else r[0]) for r in rows]
                except (QueryError, ValueError) as e:
                    report.fail(where, str(e))
                    options[name] = []
                if require_data and not options[name]:
                    report.fail(where, "no values")
                current[name] = ALL if v.get("includeAll") else (options[name][:1] or [""])
                first[name] = options[name][:1] or [""]
            elif v.get("type") in ("custom", "constant", "textbox", "interval"):
                cur = (v.get("current") or {}).get("value")
                if cur in (None, "", []):
                    cur = v.get("query", "").split(",")[0].strip()
                if cur == "$__all" or cur == ["$__all"]:
                    cur = ALL
                current[name] = cur
                first[name] = cur
                opts = [o.get("value") for o in v.get("options") or [] if o.get("value") is not None]
                options[name] = opts or [s.strip() for s in str(v.get("query", "")).split(",")]
        passes = [("all", current), ("narrowed", {**current, **first})]
        for panel_board, panel, target, where in jobs:
            if panel_board is not board:
                continue
            for label, selection in passes:
                pwhere = f"{where} [{label}]"
                try:
                    sql = expand(target["rawSql"], selection, options, t_from, t_to)
                except ValueError as e:
                    report.fail(pwhere, f"cannot expand: {e}")
                    break
                report.queries += 1
                try:
                    columns, rows = ch.select(sql)
                except QueryError as e:
                    report.fail(pwhere, "ClickHouse: " + str(e))
                    continue
                if label != "all":
                    continue
                results[(uid, panel.get("title"))] = (columns, rows)
                if not quiet:
                    print(f"ok    {where}: {len(rows)} row(s)", flush=True)
                if require_data:
                    if not rows:
                        report.fail(pwhere, "returned no rows")
                    else:
                        for i, c in enumerate(columns):
                            if all(r[i] is None for r in rows):
                                report.warn(pwhere, f"column {c!r} is NULL in every row")
    return report, results


# ---------------------------------------------------------------------------
# A database with the schema, or with demo data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_schema(ch, database):
    """Applies the migrations as escucha renders them without a cluster."""
    ch.execute(f"CREATE DATABASE IF NOT EXISTS {database}", database=False)
    for path in sorted(glob.glob(os.path.join(MIGRATIONS, "*.sql"))):
        with open(path, encoding="utf-8") as f:
            text = "\n".join(line for line in f.read().splitlines() if not line.strip().startswith("--"))
        text = re.sub(r"\{table:(\w+)\}", lambda m: f"{database}.{m.group(1)}", text)
        text = text.replace(" {on_cluster}", "").replace("{on_cluster}", "")
        text = re.sub(r"\{engine:([^}]*)\}", lambda m: m.group(1), text)
        for statement in text.split(";"):
            if statement.strip():
                ch.execute(statement, database=False)


def drop_database(ch, database):
    try:
        ch.execute(f"DROP DATABASE IF EXISTS {database}", database=False)
    except QueryError as e:
        print(f"warn  could not drop database {database}: {e}", file=sys.stderr)


def stop_process(proc, name, timeout=20):
    """Ends one process this script started, by its id."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"warn  {name} (pid {proc.pid}) did not stop on SIGINT; killing it", file=sys.stderr)
        proc.kill()
        proc.wait(timeout=10)


def wait_for(predicate, timeout, what, interval=0.5):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - report the last reason on timeout
            last = e
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last})" if last else ""))


def port_open(host, port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def http_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def find_binary(name, env_var):
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit
    found = shutil.which(name)
    if found:
        return found
    candidate = os.path.expanduser(f"~/.cargo/bin/{name}")
    return candidate if os.path.exists(candidate) else None


def tail(path, lines=25):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class DemoData:
    """A database filled by `escucha run` from `escucha demo`.

    `escucha demo` always produces to the shipped topic names (escucha.surveys,
    …), so the data goes through a private in-memory broker (`tansu`) on a free
    port: nothing is produced to, or consumed from, the shared broker. The
    pipeline files are copies of pipelines/*.toml with consumer groups renamed
    with a unique prefix; the database is unique and dropped at the end."""

    def __init__(self, args, ch_url, user, password):
        self.args = args
        self.prefix = "grafana%d%d" % (int(time.time()) % 100_000_000, os.getpid() % 1000)
        self.database = f"escucha_{self.prefix}"
        self.ch = ClickHouse(ch_url, self.database, user, password)
        self.dir = tempfile.mkdtemp(prefix="escucha-grafana-")
        self.broker = None
        self.ingester = None
        self.api = None
        self.expected = None

    def env(self, brokers, api_bind):
        env = dict(os.environ)
        env.update({
            "ESCUCHA_KAFKA_BROKERS": brokers,
            "ESCUCHA_CLICKHOUSE_URL": self.ch.url,
            "ESCUCHA_CLICKHOUSE_DATABASE": self.database,
            "ESCUCHA_API_BIND": api_bind,
            "ESCUCHA_PIPELINES": os.path.join(self.dir, "pipelines"),
            "ESCUCHA_ENGINE": "cues",
            "ESCUCHA_HOME": os.path.join(self.dir, "home"),
            "ESCUCHA_THEMES": os.path.join(self.dir, "themes"),
            "ESCUCHA_CUSTOMER_KEY_SECRET": "grafana-check-0123456789abcdef",
            "ESCUCHA_INSTANCE_ID": self.prefix,
            "ESCUCHA_LOG": "info,rdkafka=warn",
        })
        env.pop("ESCUCHA_CONFIG", None)
        return env

    def start(self):
        escucha = find_binary("escucha", "ESCUCHA_BIN")
        if not escucha:
            raise RuntimeError("the escucha binary is not on the PATH (set ESCUCHA_BIN)")
        for sub in ("pipelines", "home", "themes"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        for path in sorted(glob.glob(os.path.join(PIPELINES, "*.toml"))):
            with open(path, encoding="utf-8") as f:
                text = f.read().replace('"escucha-', f'"{self.prefix}-')
            with open(os.path.join(self.dir, "pipelines", os.path.basename(path)), "w", encoding="utf-8") as f:
                f.write(text)

        if self.args.broker:
            brokers = self.args.broker
            print(f"using the broker at {brokers} (topics escucha.*, consumer groups {self.prefix}-*)")
        else:
            tansu = find_binary("tansu", "TANSU_BIN")
            if not tansu:
                raise RuntimeError("tansu is not installed (scripts/services.sh install kafka), "
                                   "or pass --broker HOST:PORT to use a running broker")
            port = free_port()
            listener = f"tcp://127.0.0.1:{port}"
            log = open(os.path.join(self.dir, "tansu.log"), "w")
            self.broker = subprocess.Popen(
                [tansu, "broker", "--cluster-id", self.prefix, "--listener-url", listener,
                 "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
            brokers = f"127.0.0.1:{port}"
            wait_for(lambda: self.broker.poll() is None and port_open("127.0.0.1", port), 30,
                     "the private broker")
            print(f"private broker (tansu, in memory) on {brokers}, pid {self.broker.pid}")

        api_port = free_port()
        self.api = f"http://127.0.0.1:{api_port}"
        env = self.env(brokers, f"127.0.0.1:{api_port}")
        pipelines = os.path.join(self.dir, "pipelines")
        run_log = os.path.join(self.dir, "escucha-run.log")
        self.ingester = subprocess.Popen(
            [escucha, "run", "--open", "--pipelines", pipelines],
            stdout=open(run_log, "w"), stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        print(f"escucha run (pid {self.ingester.pid}) into database {self.database}, API on {self.api}")
        try:
            wait_for(lambda: self.ingester.poll() is None and http_json(self.api + "/healthz") is not None,
                     60, "escucha's API")
        except Exception:
            print(tail(run_log), file=sys.stderr)
            raise
        count = [escucha, "demo", "--pipelines", pipelines, "--interactions", str(self.args.interactions),
                 "--days", str(self.args.demo_days)]
        self.expected = int(subprocess.run(count + ["--count-only"], env=env, check=True,
                                           capture_output=True, text=True).stdout.strip())
        demo = subprocess.run(count, env=env, capture_output=True, text=True)
        sys.stdout.write(demo.stderr)
        if demo.returncode != 0:
            raise RuntimeError(f"escucha demo failed ({demo.returncode})")
        if "not producing" in demo.stderr:
            self.expected = None  # the topics already held a sample (--broker)

        def stored():
            n = http_json(self.api + "/api/v1/summary")["summary"]["interactions"]
            if self.ingester.poll() is not None:
                raise RuntimeError("escucha run exited:\n" + tail(run_log))
            stored.history.append(n)
            if self.expected is not None:
                return n >= self.expected
            return n > 0 and len(stored.history) > 10 and len(set(stored.history[-10:])) == 1

        stored.history = []
        try:
            wait_for(stored, self.args.wait, f"{self.expected or 'the'} interactions to be stored", interval=1)
        except Exception:
            print(tail(run_log), file=sys.stderr)
            raise
        print(f"stored: {stored.history[-1]} interactions")

    def stop(self):
        stop_process(self.ingester, "escucha run")
        stop_process(self.broker, "tansu")
        if not self.args.keep_database:
            drop_database(self.ch, self.database)
            print(f"dropped database {self.database}")
        else:
            print(f"kept database {self.database}")
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# The dashboards' figures against the API's


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-6


def cross_check(api, results, t_from, t_to, report):
    """Stat and table figures must equal the API's for the same range and filters
    (the dashboards' range ends at t_to inclusive, the API's exclusive: nothing
    is stored at that second)."""

    def iso(t):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    rng = urllib.parse.urlencode({"from": iso(t_from), "to": iso(t_to)})
    def get(endpoint):
        try:
            return http_json(f"{api}/api/v1/{endpoint}?{rng}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                report.warn("cross-check", f"this escucha has no /api/v1/{endpoint} (an older build?): "
                                           "its figures are not compared")
                return None
            raise

    summary = get("summary")["summary"]
    kpis = get("kpis")
    if kpis is not None:
        kpis = kpis.get("kpis", kpis)
    gaps = get("gaps")
    if isinstance(gaps, dict):
        gaps = gaps.get("gaps", gaps)
    if isinstance(gaps, dict):
        gaps = gaps.get("gaps", [])

    def row(uid, title):
        got = results.get((uid, title))
        if not got or not got[1]:
            report.fail(f"{uid} / \"{title}\"", "no result to compare with the API")
            return None
        columns, rows = got
        return [dict(zip(columns, r)) for r in rows]

    compared = 0

    def same(where, column, got, want):
        nonlocal compared
        compared += 1
        if not close(got, want):
            report.fail(where, f"{column} = {got}, the API says {want}")

    kpis = kpis or {}
    singles = [
        ("escucha-overview", "Interactions", {
            "interactions": summary["interactions"], "surveys": summary["surveys"],
            "transcripts": summary["transcripts"], "with_text": summary["with_text"]}),
        ("escucha-overview", "NPS (0-10)", {"NPS": summary["nps"]["score"], "n": summary["nps"]["n"]}),
        ("escucha-overview", "CSAT (1-5)", {"CSAT %": summary["csat"]["percent"],
                                            "CSAT mean": summary["csat"]["mean"], "n": summary["csat"]["n"]}),
        ("escucha-overview", "CES (1-7)", {"CES mean": summary["ces"]["mean"],
                                           "% easy (5-7)": summary["ces"]["percent_easy"],
                                           "n": summary["ces"]["n"]}),
        ("escucha-operations", "Contact KPIs", {
            "Recovery %": summary["recovery"]["rate"],
            "Started negative": summary["recovery"]["started_negative"],
            "Agent empathy": summary["agent_empathy"]["mean"]}),
    ]
    if kpis:
        singles += [
            ("escucha-operations", "Contact KPIs", {
                "Contacts": kpis["contacts"], "AHT (s)": kpis["aht_seconds"],
                "ASA (s)": kpis["asa_seconds"], "Transfer %": kpis["transfer_rate"],
                "Bot containment %": kpis["bot_containment"], "Escalation %": kpis["escalation_rate"],
                "Resolution %": kpis["resolution_rate"]}),
            ("escucha-operations", "Repeat contacts (7 days)",
             {"Repeat contact %": kpis["repeat_contact_rate"]}),
        ]
    for uid, title, want in singles:
        rows = row(uid, title)
        if rows is None:
            continue
        for column, value in want.items():
            if column not in rows[0]:
                report.fail(f"{uid} / \"{title}\"", f"no column {column!r} (has {', '.join(rows[0])})")
                continue
            same(f"{uid} / \"{title}\"", column, rows[0][column], value)

    rows = row("escucha-gaps", "Process gaps ranked") if gaps is not None else None
    if rows is not None:
        by_theme = {g["theme"]: g for g in gaps}
        if sorted(r["gap"] for r in rows) != sorted(by_theme):
            report.fail("escucha-gaps / \"Process gaps ranked\"",
                        f"gaps {sorted(r['gap'] for r in rows)}, the API has {sorted(by_theme)}")
        for r in rows:
            g = by_theme.get(r["gap"])
            if g is None:
                continue
            where = f"escucha-gaps / \"Process gaps ranked\" / {r['gap']}"
            for column, want in [("interactions", g["count"]), ("share %", g["share"]),
                                 ("previous period", g["previous_count"]), ("change %", g["change"]),
                                 ("NPS with", g["nps_with"]["score"]),
                                 ("NPS without", g["nps_without"]["score"]),
                                 ("NPS n with", g["nps_with"]["n"]),
                                 ("CSAT % with", g["csat_with"]["percent"]),
                                 ("CSAT % without", g["csat_without"]["percent"])]:
                same(where, column, r[column], want)

    rows = row("escucha-emotions", "Emotions: volume, share and NPS")
    if rows is not None:
        by_label = {e["label"]: e for e in summary["emotions"]}
        for r in rows:
            e = by_label.get(r["emotion"])
            where = f"escucha-emotions / \"Emotions: volume, share and NPS\" / {r['emotion']}"
            if e is None:
                report.fail(where, "emotion not in the API's summary")
                continue
            same(where, "interactions", r["interactions"], e["count"])
            same(where, "share %", r["share %"], e["share"])
    print(f"cross-check: {compared} figures compared with {api}/api/v1 (summary, kpis, gaps), "
          f"{iso(t_from)} to {iso(t_to)}")


# ---------------------------------------------------------------------------
# Self-test


def self_test(ch_url, user, password, directory):
    """Broken dashboards must fail, each for its own reason; the real ones
    must pass on an empty schema."""
    database = "escucha_grafana_selftest_%d" % os.getpid()
    ch = ClickHouse(ch_url, database, user, password)
    work = tempfile.mkdtemp(prefix="escucha-grafana-selftest-")
    ok = True
    created = False
    try:
        ClickHouse(ch_url, None, user, password).select("SELECT 1")
        created = True
        create_schema(ch, database)
        print(f"== the shipped dashboards on an empty schema ({database})")
        report, _ = run_checks(directory, ch, quiet=True)
        if report.failures:
            print("SELF-TEST FAILED: the shipped dashboards fail on an empty schema")
            ok = False
        else:
            print(f"ok: {report.queries} queries, no failure")

        with open(os.path.join(directory, "escucha-overview.json"), encoding="utf-8") as f:
            base = json.load(f)
        stat = next(p for p in base["panels"] if p.get("targets"))
        cases = []

        def case(name, mutate, expect, require_data=False):
            board = copy.deepcopy(base)
            board["uid"] = "selftest"
            panel = copy.deepcopy(stat)
            panel["id"] = 900
            board["panels"] = [copy.deepcopy(stat), panel]
            mutate(board, panel)
            cases.append((name, board, expect, require_data))

        def unknown_column(board, panel):
            panel["targets"][0]["rawSql"] = panel["targets"][0]["rawSql"].replace(
                "count() AS interactions", "countIf(no_such_column = 1) AS interactions")

        case("unknown column", unknown_column, r"ClickHouse: .*no_such_column")

        def bad_uid(board, panel):
            panel["datasource"] = {"type": PLUGIN, "uid": "no-such-datasource"}

        case("unknown datasource uid", bad_uid, r"unknown datasource uid 'no-such-datasource'")

        def bad_target_uid(board, panel):
            panel["targets"][0]["datasource"] = {"type": PLUGIN, "uid": "typo-clickhouse"}

        case("unknown target datasource uid", bad_target_uid, r"unknown datasource uid 'typo-clickhouse'")

        def duplicate_id(board, panel):
            panel["id"] = board["panels"][0]["id"]

        case("duplicate panel id", duplicate_id, r"panel id \d+ also used by")

        def undefined_variable(board, panel):
            panel["targets"][0]["rawSql"] += " AND $__conditionalAll(team IN (${team:singlequote}), $team)"

        case("undefined variable", undefined_variable, r"undefined variable \$team")

        def no_sql(board, panel):
            panel["targets"][0]["rawSql"] = "  "

        case("target without SQL", no_sql, r"target without SQL")

        def no_final(board, panel):
            panel["targets"][0]["rawSql"] = panel["targets"][0]["rawSql"].replace(
                "FROM interactions FINAL", "FROM interactions")

        case("read without FINAL", no_final, r"reads interactions without FINAL")

        def bad_syntax(board, panel):
            panel["targets"][0]["rawSql"] = "SELECT count( FROM interactions FINAL WHERE $__timeFilter(occurred_at)"

        case("syntax error", bad_syntax, r"ClickHouse: .*(Syntax error|Cannot parse)")

        def no_rows(board, panel):
            panel["targets"][0]["rawSql"] = ("SELECT channel, count() AS n FROM interactions FINAL "
                                             "WHERE $__timeFilter(occurred_at) GROUP BY channel")

        case("no rows with --require-data", no_rows, r"returned no rows", require_data=True)

        for name, board, expect, require_data in cases:
            d = os.path.join(work, re.sub(r"\W+", "-", name))
            os.makedirs(os.path.join(d, "datasources"))
            shutil.copy(glob.glob(os.path.join(directory, "datasources", "*.y*ml"))[0], os.path.join(d, "datasources"))
            with open(os.path.join(d, "broken.json"), "w", encoding="utf-8") as f:
                json.dump(board, f)
            print(f"== broken dashboard: {name}")
            report, _ = run_checks(d, ch, require_data=require_data, quiet=True)
            messages = [f"{w}: {m}" for w, m in report.failures]
            hit = [m for m in messages if re.search(expect, m)]
            if not report.failures:
                print(f"SELF-TEST FAILED: {name}: the check passed")
                ok = False
            elif not hit:
                print(f"SELF-TEST FAILED: {name}: no failure matches /{expect}/")
                ok = False
            else:
                print(f"ok: failed as expected ({one_line(hit[0], 200)})")
    except QueryError as e:
        print(f"SELF-TEST FAILED: {e}")
        ok = False
    finally:
        if created:
            drop_database(ch, database)
        shutil.rmtree(work, ignore_errors=True)
    print("self-test passed" if ok else "self-test FAILED")
    return 0 if ok else 1


# ---------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--dashboards", default=DASHBOARDS, help="dashboard directory (default %(default)s)")
    p.add_argument("--url", default=os.environ.get("ESCUCHA_CLICKHOUSE_URL", "http://127.0.0.1:8123"))
    p.add_argument("--database", default=os.environ.get("ESCUCHA_CLICKHOUSE_DATABASE", "escucha"))
    p.add_argument("--days", type=int, default=90, help="time range: the last N days (default 90)")
    p.add_argument("--require-data", action="store_true", help="fail when a panel returns no rows")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--with-schema", action="store_true",
                      help="run on a temporary database created from the migrations (no data)")
    mode.add_argument("--with-demo-data", action="store_true",
                      help="run on a temporary database filled from `escucha demo` and cross-check the API")
    mode.add_argument("--self-test", action="store_true", help="check that broken dashboards fail")
    p.add_argument("--interactions", type=int, default=1500, help="demo interactions (default 1500)")
    p.add_argument("--demo-days", type=int, default=60, help="demo history in days (default 60)")
    p.add_argument("--broker", help="with --with-demo-data: use this broker instead of a private tansu "
                                    "(the demo then produces to the shipped topic names)")
    p.add_argument("--wait", type=int, default=300, help="seconds to wait for the demo data (default 300)")
    p.add_argument("--keep-database", action="store_true", help="do not drop the demo database")
    args = p.parse_args()

    user = os.environ.get("ESCUCHA_CLICKHOUSE_USER")
    password = os.environ.get("ESCUCHA_CLICKHOUSE_PASSWORD")
    if args.self_test:
        return self_test(args.url, user, password, args.dashboards)

    demo = None
    database = args.database
    created = None
    report = Report()
    try:
        ClickHouse(args.url, None, user, password).select("SELECT 1")
        if args.with_demo_data:
            demo = DemoData(args, args.url, user, password)
            demo.start()
            database = demo.database
        elif args.with_schema:
            created = "escucha_grafana_schema_%d" % os.getpid()
            create_schema(ClickHouse(args.url, created, user, password), created)
            database = created
        ch = ClickHouse(args.url, database, user, password)
        print(f"checking {args.dashboards} against {args.url}, database {database}, last {args.days} days")
        t_to = int(time.time())
        report, results = run_checks(args.dashboards, ch, args.days, args.require_data, report, t_to=t_to)
        if demo is not None:
            cross_check(demo.api, results, t_to - args.days * DAY, t_to, report)
            # A shorter range too, so that the gaps' previous period holds data.
            short = max(1, args.demo_days // 2)
            print(f"cross-check over the last {short} days (previous period with data)")
            _, results = run_checks(args.dashboards, ch, short, False, report, quiet=True, t_to=t_to)
            cross_check(demo.api, results, t_to - short * DAY, t_to, report)
    except (RuntimeError, QueryError, subprocess.CalledProcessError, OSError) as e:
        report.fail("setup", str(e))
    finally:
        if demo is not None:
            demo.stop()
        if created:
            drop_database(ClickHouse(args.url, created, user, password), created)
    print(f"{report.queries} queries, {len(report.failures)} failure(s), {len(report.warnings)} warning(s)")
    if report.failures:
        print("FAILED:")
        for where, message in report.failures:
            print(f"  {where}: {one_line(message, 400)}")
        return 1
    print("grafana dashboards: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
