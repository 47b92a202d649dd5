"""The report's stylesheet, inlined into every page (no external fonts or files)."""

CSS = """
:root { --fg: #111827; --dim: #6B7280; --line: #E5E7EB; --bg: #FFFFFF; --band: #F9FAFB;
  --sig: #047857; --ns: #4B5563; --err: #B91C1C; --warn: #92400E; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 24px; margin: 0 0 4px; word-break: break-word; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 6px; word-break: break-word; }
nav { padding: 6px 0 12px; }
nav a { color: #1D4ED8; text-decoration: none; }
.meta, .note, .dim { color: var(--dim); }
.banner { margin: 6px 0 10px; padding: 8px 12px; border: 1px solid #F59E0B; border-radius: 6px;
  background: #FFFBEB; color: var(--warn); font-weight: 600; }
.banner.bad { border-color: #FCA5A5; background: #FEF2F2; color: var(--err); }
.note { font-size: 13px; margin: 4px 0 10px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--band); padding: 8px; overflow-x: auto; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
table.num td { font-variant-numeric: tabular-nums; }
.name { display: inline-block; max-width: 24em; overflow-wrap: anywhere; }
table.kv td:first-child { color: var(--dim); white-space: nowrap; }
table.kv thead { display: none; }
table.kv td:last-child, .meta { overflow-wrap: anywhere; }
figure.plot { margin: 6px 0 10px; }
figure.plot svg { max-width: 100%; height: auto; }
.badge { display: inline-block; white-space: nowrap; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; }
.badge.sig { background: var(--sig); }
.badge.ns { background: var(--ns); }
.badge.err { background: var(--err); }
.error-text { color: var(--err); }
.warn, ul.warnings li { color: var(--warn); }
table.errors td:last-child { max-width: 640px; word-break: break-word; }
details summary { cursor: pointer; color: var(--dim); }
footer { color: var(--dim); font-size: 12px; padding: 24px; border-top: 1px solid var(--line); margin-top: 32px; }
"""

__all__ = ["CSS"]
