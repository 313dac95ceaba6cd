"""Standings and the per-pair results matrix of a tournament, and their tables (terminal, Markdown, HTML, CSV).

`standings` turns recorded games (rows of `pyrat_rl.agents.tournament.store.TournamentStore.games`) into one
entry per agent, best first (points, then rating): ``agent``, ``spec``, ``points``, ``games``,
``wins``, ``draws``, ``losses``, ``rating`` with ``rating_low`` / ``rating_high`` (Bradley-Terry on
the Elo scale with a bootstrap interval, `pyrat_rl.agents.tournament.ratings`), ``mean_score`` (cheese per
game), ``timeouts``, ``errors`` (exceptions and invalid actions) and ``forfeits``. `pair_matrix`
gives, for every ordered pair, the points of the row agent against the column agent.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from .ratings import ratings_with_intervals

FORMATS = ("table", "md", "html", "csv")


def _results(games: Sequence[dict]) -> list[tuple[int, int, float]]:
    out = []
    for g in games:
        w = g["winner"]
        s = 0.5 if w is None else (1.0 if w == g["seat0"] else 0.0)
        out.append((g["seat0"], g["seat1"], s))
    return out


def standings(agents: Sequence[dict], games: Sequence[dict], bootstrap: int = 1000, seed: int = 0,
              prior: float = 2.0) -> list[dict]:
    """One entry per agent, best first. ``agents``: ``{name, spec}`` in agent-index order."""
    n = len(agents)
    rows = [{"agent": a["name"], "spec": a.get("spec", a["name"]), "points": 0.0, "games": 0, "wins": 0,
             "draws": 0, "losses": 0, "rating": None, "rating_low": None, "rating_high": None, "mean_score": 0.0,
             "timeouts": 0, "errors": 0, "forfeits": 0} for a in agents]
    for g in games:
        for seat in (0, 1):
            i = g[f"seat{seat}"]
            r = rows[i]
            r["games"] += 1
            r["mean_score"] += g[f"score{seat}"]
            r["timeouts"] += g[f"timeouts{seat}"]
            r["errors"] += g[f"errors{seat}"]
            r["forfeits"] += g[f"forfeit{seat}"] is not None
            if g["winner"] is None:
                r["draws"] += 1
                r["points"] += 0.5
            elif g["winner"] == i:
                r["wins"] += 1
                r["points"] += 1.0
            else:
                r["losses"] += 1
    for r in rows:
        r["mean_score"] = round(r["mean_score"] / r["games"], 3) if r["games"] else 0.0
    if games:
        rating, low, high = ratings_with_intervals(n, _results(games), samples=bootstrap, seed=seed, prior=prior)
        for i, r in enumerate(rows):
            r["rating"] = round(float(rating[i]), 1)
            r["rating_low"] = None if low[i] != low[i] else round(float(low[i]), 1)
            r["rating_high"] = None if high[i] != high[i] else round(float(high[i]), 1)
    order = sorted(range(n), key=lambda i: (-rows[i]["points"], -(rows[i]["rating"] or 0.0), rows[i]["agent"]))
    out = []
    for rank, i in enumerate(order, 1):
        out.append(dict(rank=rank, **rows[i]))
    return out


def pair_matrix(agents: Sequence[dict], games: Sequence[dict]) -> dict:
    """``{"agents": names, "points": [[...]], "games": [[...]]}``: points[i][j] = points of i against j."""
    n = len(agents)
    points = [[0.0] * n for _ in range(n)]
    counts = [[0] * n for _ in range(n)]
    for a, b, s in _results(games):
        points[a][b] += s
        points[b][a] += 1.0 - s
        counts[a][b] += 1
        counts[b][a] += 1
    return {"agents": [a["name"] for a in agents], "points": points, "games": counts}


# -- formatting ------------------------------------------------------------------------------------------
COLUMNS = (("rank", "#"), ("agent", "agent"), ("points", "points"), ("games", "games"), ("wins", "W"),
           ("draws", "D"), ("losses", "L"), ("rating", "rating"), ("interval", "95% interval"),
           ("mean_score", "cheese/game"), ("timeouts", "timeouts"), ("errors", "errors"), ("forfeits", "forfeits"))


def _fmt_num(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:g}" if x == int(x) else f"{x:.1f}" if abs(x) >= 100 else f"{x:.3g}"
    return str(x)


def _cells(row: dict) -> list[str]:
    out = []
    for key, _ in COLUMNS:
        if key == "interval":
            lo, hi = row["rating_low"], row["rating_high"]
            out.append("-" if lo is None else f"{lo:.0f} to {hi:.0f}")
        elif key == "rating":
            out.append("-" if row["rating"] is None else f"{row['rating']:.0f}")
        else:
            out.append(_fmt_num(row[key]))
    return out


def _matrix_cells(matrix: dict) -> tuple[list[str], list[list[str]]]:
    names = matrix["agents"]
    header = [""] + names
    body = []
    for i, name in enumerate(names):
        line = [name]
        for j in range(len(names)):
            if i == j:
                line.append("x")
            elif matrix["games"][i][j] == 0:
                line.append("-")
            else:
                line.append(f"{_fmt_num(matrix['points'][i][j])}/{matrix['games'][i][j]}")
        body.append(line)
    return header, body


def _text_table(header: list[str], body: list[list[str]], right: set[int]) -> str:
    widths = [max(len(str(r[c])) for r in [header] + body) for c in range(len(header))]

    def line(cells):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(r) for r in body])


def _md_table(header: list[str], body: list[list[str]], right: set[int]) -> str:
    def esc(c: str) -> str:
        return str(c).replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join(" ---: " if i in right else " --- " for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in body]
    return "\n".join(lines)


def _html_table(header: list[str], body: list[list[str]], right: set[int]) -> str:
    def cell(tag: str, i: int, c: str) -> str:
        cls = ' class="num"' if i in right else ""
        return f"<{tag}{cls}>{html.escape(str(c))}</{tag}>"

    head = "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(header)) + "</tr>"
    rows = "\n".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in body)
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n{rows}\n</tbody>\n</table>"


_HTML_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
               "th,td{border:1px solid #ccc;padding:.3em .6em}th{background:#f3f3f3}td.num,th.num{text-align:right}"
               "caption{font-weight:bold;text-align:left;margin-bottom:.4em}")


def render(rows: list[dict], matrix: dict | None = None, fmt: str = "table", title: str | None = None,
           info: str | None = None, matrix_only: bool = False) -> str:
    """The standings (and the pair matrix, if given) as text in ``fmt`` (table, md, html, csv)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    header = [h for _, h in COLUMNS]
    body = [_cells(r) for r in rows]
    right = {0, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12}
    mh, mb = _matrix_cells(matrix) if matrix is not None else (None, None)
    mright = set(range(1, len(mh))) if mh else set()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if matrix_only and matrix is not None:
            w.writerow(mh)
            w.writerows(mb)
        else:
            keys = ["rank", "agent", "spec", "points", "games", "wins", "draws", "losses", "rating", "rating_low",
                    "rating_high", "mean_score", "timeouts", "errors", "forfeits"]
            w.writerow(keys)
            for r in rows:
                w.writerow(["" if r[k] is None else r[k] for k in keys])
        return buf.getvalue()
    parts = []
    caption = "Standings" if title is None else f"Standings: {title}"
    mcaption = "Results by pair (points of the row's agent against the column's / games)"
    if fmt == "table":
        if not matrix_only:
            parts.append(caption + ("" if info is None else f"\n{info}"))
            parts.append(_text_table(header, body, right))
        if mh:
            parts.append(mcaption)
            parts.append(_text_table(mh, mb, mright))
        return "\n\n".join(parts) + "\n"
    if fmt == "md":
        if not matrix_only:
            parts.append(f"## {caption}" + ("" if info is None else f"\n\n{info}"))
            parts.append(_md_table(header, body, right))
        if mh:
            parts.append(f"### {mcaption}")
            parts.append(_md_table(mh, mb, mright))
        return "\n\n".join(parts) + "\n"
    doc_title = html.escape(caption)
    if not matrix_only:
        parts.append(f"<h1>{doc_title}</h1>")
        if info:
            parts.append(f"<p>{html.escape(info)}</p>")
        parts.append(_html_table(header, body, right))
    if mh:
        parts.append(f"<h2>{html.escape(mcaption)}</h2>")
        parts.append(_html_table(mh, mb, mright))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{doc_title}</title>\n<style>{_HTML_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")
