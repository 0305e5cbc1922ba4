#!/usr/bin/python3
"""report.py - one self-contained HTML page per bench run: host state, every table with its
verdicts, the plots, the ours/peer speed table and links to the raw JSON.

Usage: report.py [--results DIR] [--plots DIR] [--run RUN.json] [--out FILE.html]

Reads what `make tables` and `make plots` wrote: DIR/index.md and the tables it lists
(DIR/<T>.md, DIR/<T>.csv), plots/<T>.png; and the run's raw JSON (through scripts/stats.py,
the one reader of Google Benchmark JSON) for the host state.  The run is the first file of
index.md's "source:" line (relative to DIR) unless --run names it; its Go peer file
<stem>.go.json beside it is linked when present.

Writes, by default, results/<host>/<stem>.html beside the run's JSON: one page per run,
self-contained (styles inline, plots embedded as PNG data), linking to the raw JSON by
relative path.  On load the page counts the images that decoded and records it on <html>
(data-images="loaded/total"), showing a banner when one failed; `make test-report` reads
that in headless Chromium.  Written to a temporary name and renamed.

Sections: summary (verdict counts over all claims, run, commit, preset); host state (every
key of the run's context); ours vs peers (every CSV row whose role is "go": our value, Go's,
ours/Go; and the peer-library rows); one section per table (its Markdown rendered, verdict
cells coloured, its plot below it); raw files.

Exit status: 0 written; 2 no tables (index.md missing: run make tables), unreadable run
JSON or bad arguments (one line); 1 the output file cannot be written (one line).
Markdown rendering: python3-markdown (Debian).
"""

import argparse
import base64
import csv
import html
import json
import os
import re
import sys
import tempfile

import toolversion  # scripts/toolversion.py: --version

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PROG = "report.py"
VERDICTS = ("confirmed", "refuted", "inconclusive", "n/a", "not a measurement")


class ReportError(Exception):
    """One line for the user; .code is the exit status."""

    def __init__(self, msg, code=2):
        super().__init__(msg)
        self.code = code


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")


def index_tables(results):
    """[(table id, title)] in index.md's order, and the run files of its source line."""
    path = os.path.join(results, "index.md")
    if not os.path.exists(path):
        raise ReportError(f"no tables in {results}/ (index.md missing): run make tables first")
    text = read(path)
    tables = re.findall(r"^\| \[([A-Za-z0-9.]+)\]\(\1\.md\): ([^|]*)\|", text, re.M)
    m = re.search(r"^- source: (.+)$", text, re.M)
    sources = [s.strip() for s in m.group(1).split(",")] if m else []
    return [(t, title.strip()) for t, title in tables], sources, text


def load_csv(path):
    if not os.path.exists(path):
        return []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise ReportError(f"cannot read {path}: {e}")


def verdict_word(v):
    v = (v or "").strip()
    for w in VERDICTS:
        if v.startswith(w):
            return w
    return None


def slug(word):
    return {"n/a": "na", "not a measurement": "nam"}.get(word, word)


def md_to_html(text):
    import markdown  # python3-markdown; imported here so --help works without it

    out = markdown.markdown(text, extensions=["tables"], output_format="html")
    # links between tables (T1.md) become links inside the page (#T1)
    out = re.sub(r'href="([A-Za-z0-9.]+)\.md"', r'href="#\1"', out)

    def cell(m):
        word = verdict_word(html.unescape(re.sub(r"<[^>]+>", "", m.group(2))))
        if not word:
            return m.group(0)
        return f'<td{m.group(1)} class="v v-{slug(word)}">{m.group(2)}</td>'

    return re.sub(r"<td([^>]*)>(.*?)</td>", cell, out, flags=re.S)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def eng(v):
    """3 significant digits, k / M / G above 1000 (the plots' number format)."""
    for exp, prefix in ((9, "G"), (6, "M"), (3, "k")):
        if abs(v) >= 10 ** exp:
            return f"{v / 10 ** exp:.3g} {prefix}"
    return f"{v:.3g}"


def fmt(v, unit=""):
    """v with the tables' unit names: time in ns, bytes, rate per s, share, count."""
    if v is None:
        return "-"
    a = abs(v)
    if unit == "rate":
        return f"{eng(v)}/s"
    if unit == "share":
        return f"{100 * v:.3g}%"
    if unit == "time":
        for div, u in ((1e9, "s"), (1e6, "ms"), (1e3, "us"), (1, "ns")):
            if a >= div or div == 1:
                return f"{v / div:.3g} {u}"
    if unit == "bytes":
        for div, u in ((2 ** 30, "GiB"), (2 ** 20, "MiB"), (2 ** 10, "KiB"), (1, "B")):
            if a >= div or div == 1:
                return f"{v / div:.3g} {u}"
    return eng(v) + (f" {unit}" if unit and unit not in ("count", "time", "bytes") else "")


def speed_rows(results, tables):
    """Ours vs Go: every CSV row of role "go" (our value = ratio x Go's median, the
    tables' own ratio), and the peer-library rows (label 'peer: ...')."""
    go, peers = [], []
    for t, _ in tables:
        for r in load_csv(os.path.join(results, t + ".csv")):
            if r.get("role") == "go":
                g, ratio = num(r.get("median")), num(r.get("ratio"))
                ours = g * ratio if g is not None and ratio is not None else None
                go.append((r["claim"], r.get("label", ""), r.get("unit", ""), ours, g, ratio,
                           r.get("verdict", "")))
            elif (r.get("label") or "").startswith("peer:") and num(r.get("median")) is not None:
                peers.append((r["claim"], r["label"][5:].strip(), r.get("unit", ""),
                              num(r["median"]), r.get("bench_row", "")))
    return go, peers


def img_tag(path, alt):
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(alt)} (plots/{html.escape(os.path.basename(path))})"
            "</figcaption></figure>")


def context_value(v):
    if isinstance(v, str) and v[:1] in "[{":
        try:
            v = json.loads(v)
        except ValueError:
            pass
    if isinstance(v, (dict, list)):
        return f"<code>{html.escape(json.dumps(v, separators=(', ', ': ')))}</code>"
    return html.escape(str(v))


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 1.5em 3em;
color:#222}
h1{font-size:1.6em;margin:.8em 0 .2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2}code{font-size:12px;word-break:break-all}
td.v{font-weight:600;white-space:nowrap}
.v-confirmed{background:#d9f2d9}.v-refuted{background:#f8d7d7}
.v-inconclusive{background:#fff1c2}.v-na{background:#e8e8e8;color:#555}.v-nam{color:#555}
.counts span{display:inline-block;margin:0 .4em .3em 0;padding:.2em .6em;border-radius:3px}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{color:#555;font-size:12px}
nav a{margin-right:.8em}#img-banner{background:#f8d7d7;padding:.5em;display:none}
.muted{color:#666}
"""

CHECK_JS = """
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++)
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  document.documentElement.setAttribute('data-images', ok + '/' + imgs.length);
  if (ok < imgs.length) {
    var b = document.getElementById('img-banner');
    b.textContent = (imgs.length - ok) + ' of ' + imgs.length + ' plots did not load.';
    b.style.display = 'block';
  }
});
"""


def build(results, plots, run_path, out):
    tables, sources, index_text = index_tables(results)
    if not tables:
        raise ReportError(f"{results}/index.md lists no tables: run make tables first")
    if run_path is None:
        runs = [s for s in sources if s.endswith(".json") and not s.endswith(".go.json")]
        if not runs:
            raise ReportError(f"{results}/index.md names no run JSON (source: line); "
                              "give --run RUN.json")
        run_path = os.path.join(results, runs[0])
    import stats  # scripts/stats.py: the one reader of Google Benchmark JSON

    try:
        run = stats.load(run_path)
    except stats.StatsError as e:
        raise ReportError(str(e))
    except OSError as e:
        raise ReportError(f"cannot read {run_path}: {e.strerror}")
    ctx = run.context
    stem = os.path.basename(run_path)[:-len(".json")]
    go_path = os.path.join(os.path.dirname(run_path), stem + ".go.json")
    if out is None:
        out = os.path.join(os.path.dirname(run_path), stem + ".html")
    outdir = os.path.dirname(os.path.abspath(out))

    def link(p):
        rel = os.path.relpath(os.path.abspath(p), outdir)
        return f'<a href="{html.escape(rel)}">{html.escape(os.path.basename(p))}</a>'

    counts = {w: 0 for w in VERDICTS}
    claims = 0
    for t, _ in tables:
        for r in load_csv(os.path.join(results, t + ".csv")):
            if r.get("role") == "claim":
                claims += 1
                w = verdict_word(r.get("verdict"))
                if w:
                    counts[w] += 1
    host = ctx.get("host") or ctx.get("host_name") or "unknown host"
    sha = str(ctx.get("git_sha", ""))[:12]
    title = f"mn suite: {host}, run {stem}"
    body = [f"<h1>{html.escape(title)}</h1>",
            '<p class="muted">Generated by scripts/report.py from the tables, plots and raw '
            "JSON of one <code>make bench</code> run; self-contained (plots embedded).</p>",
            '<div id="img-banner"></div>',
            "<nav>" + "".join(f'<a href="#{s}">{n}</a>' for s, n in (
                ("summary", "summary"), ("host", "host state"), ("speed", "ours vs peers"))) +
            "".join(f'<a href="#{t}">{t}</a>' for t, _ in tables) +
            '<a href="#raw">raw JSON</a></nav>',
            '<h2 id="summary">Summary</h2>',
            f"<p>{claims} claims judged on host <b>{html.escape(host)}</b>, commit "
            f"<code>{html.escape(sha)}</code>, preset <b>{html.escape(str(ctx.get('preset', '?')))}"
            f"</b>, {html.escape(str(ctx.get('date', '')))}.</p>",
            '<p class="counts">' + "".join(
                f'<span class="v-{slug(w)}">{w}: {counts[w]}</span>' for w in VERDICTS) + "</p>"]
    # index.md's overview table (per-table verdict counts), rendered as is
    ov = re.search(r"^\| Table .*?(?=\n\n|\Z)", index_text, re.M | re.S)
    if ov:
        body.append(md_to_html(ov.group(0)))

    body.append('<h2 id="host">Host state</h2><p class="muted">Every key of the run\'s '
                "context (Google Benchmark's and the harness's sysinfo).</p><table>")
    for k in sorted(ctx):
        body.append(f"<tr><th>{html.escape(k)}</th><td>{context_value(ctx[k])}</td></tr>")
    body.append("</table>")

    go, peers = speed_rows(results, tables)
    body.append('<h2 id="speed">Ours vs peers</h2>')
    if go:
        body.append("<p class=\"muted\">Every row the tables compare with the Go peer run "
                    "(medians; ours/Go &lt; 1: ours is smaller).</p><table><tr><th>claim</th>"
                    "<th>what</th><th>ours</th><th>Go</th><th>ours/Go</th></tr>")
        for claim, label, unit, ours, g, ratio, verdict in go:
            gtxt = fmt(g, unit) if g is not None else html.escape(verdict or "-")
            body.append(f"<tr><td>{html.escape(claim)}</td><td>{html.escape(label)}</td>"
                        f"<td>{fmt(ours, unit)}</td><td>{gtxt}</td>"
                        f"<td>{'-' if ratio is None else f'{ratio:.3g}'}</td></tr>")
        body.append("</table>")
    else:
        body.append("<p>No Go peer rows in this run's tables.</p>")
    if peers:
        body.append("<table><tr><th>claim</th><th>peer library</th><th>median</th>"
                    "<th>bench row</th></tr>")
        for claim, label, unit, v, row in peers:
            body.append(f"<tr><td>{html.escape(claim)}</td><td>{html.escape(label)}</td>"
                        f"<td>{fmt(v, unit)}</td><td><code>{html.escape(row)}</code></td></tr>")
        body.append("</table>")

    for t, ttitle in tables:
        md = os.path.join(results, t + ".md")
        body.append(f'<section id="{html.escape(t)}">')
        if os.path.exists(md):
            text = read(md)
            body.append(md_to_html(re.sub(r"^# ", "## ", text, count=1, flags=re.M)))
        else:
            body.append(f"<h2>{html.escape(t)}: {html.escape(ttitle)}</h2>"
                        f"<p>{html.escape(t)}.md missing.</p>")
        png = os.path.join(plots, t + ".png")
        if os.path.exists(png):
            body.append(img_tag(png, f"{t}: {ttitle}"))
        body.append("</section>")

    body.append('<h2 id="raw">Raw files</h2><ul>')
    body.append(f"<li>{link(run_path)}: our benches (Google Benchmark JSON)</li>")
    if os.path.exists(go_path):
        body.append(f"<li>{link(go_path)}: the Go peer run</li>")
    for t, _ in tables:
        for ext in ("md", "csv"):
            p = os.path.join(results, f"{t}.{ext}")
            if os.path.exists(p):
                body.append(f"<li>{link(p)}</li>")
    body.append("</ul>")

    page = ("<!DOCTYPE html>\n<html lang=\"en\" data-images=\"pending\"><head>"
            "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style>"
            f"<script>{CHECK_JS}</script></head><body>\n" + "\n".join(body) +
            "\n</body></html>\n")
    return out, page


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(d, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".report.", suffix=".tmp", dir=d)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise ReportError(f"cannot write {path}: {e.strerror or e}", code=1)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=toolversion.version(PROG))
    ap.add_argument("--results", default="results", help="where the tables are (index.md)")
    ap.add_argument("--plots", default="plots", help="where the PNG plots are")
    ap.add_argument("--run", help="the run's JSON (default: index.md's source line)")
    ap.add_argument("--out", help="the page (default: beside the run JSON, <stem>.html)")
    args = ap.parse_args(argv)
    try:
        out, page = build(args.results, args.plots, args.run, args.out)
        write_atomic(out, page)
    except ReportError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return e.code
    print(f"{PROG}: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
