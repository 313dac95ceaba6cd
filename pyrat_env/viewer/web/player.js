/* PyRat replay player: draws a game on a <canvas>, in the browser, with no server and no network.
 *
 * The page holds the game as JSON in <script type="application/json" id="pyrat-replay"> (a pyrat-replay/1
 * replay or an official pyrat-game-trace/1 trace: see pyrat_env/replay.py) and an element
 * <div id="pyrat-player" data-turn="T" data-speed="S">; this script fills the element with the board,
 * the score panel and the controls. It draws the same game as the pygame viewer (pyrat watch):
 * cells are row * width + col with row 0 at the top, the same colours, mud with its weight, trails.
 *
 * Opening the page with ?turn=T or #turn=T shows turn T, paused (T may be "last" or negative: from the end).
 * Keys: space play/pause, left/right one turn, page up/down ten turns, home/end, up/down speed.
 *
 * For tests and scripts: window.pyratPlayer = {state(), seek(t), play(), pause(), nTurns, ...};
 * state() is what is shown: {turn, locations, scores, cheese, muds, playing}, from the game's states[turn].
 * Every text that comes from the game (player names, agents) is set with textContent, never as markup.
 */
(function () {
  "use strict";

  // -- colours (those of pyrat_env/viewer/render.py and sprites.py) ------------------------------------------
  var PLAYER_COLORS = [[240, 112, 36], [40, 128, 240], [206, 62, 196], [34, 176, 98], [230, 60, 60],
    [40, 190, 200]];
  var COL = {
    background: [27, 31, 40], floor: [238, 226, 198], floorAlt: [228, 214, 182], hole: [20, 23, 30],
    hatch: [36, 40, 52], wall: [36, 40, 56], mud: [122, 80, 42], mudDark: [88, 56, 28], mudLight: [156, 110, 64],
    mudText: [255, 246, 226], mudTextOutline: [48, 28, 12], cheeseTop: [255, 214, 72], cheeseFront: [246, 184, 36],
    cheeseRind: [226, 140, 30], cheeseHole: [200, 136, 22], ratFur: [150, 146, 150], pythonSkin: [96, 168, 72],
    pink: [236, 150, 162], outline: [30, 26, 28], accent: [255, 200, 60]
  };
  var TRAIL_LENGTH = 10;           // past positions drawn behind each player
  var SPEEDS = [0.5, 1, 2, 4, 8, 16, 32, 64];
  var DEFAULT_SPEED = 8;           // turns per second, as the pygame viewer
  var NORTH = 1, EAST = 2, SOUTH = 3, WEST = 4;
  var REASONS = {
    all_cheese_eaten: "all the cheese has been eaten",
    ranking_decided: "nobody can change the ranking any more",
    max_turns: "the turn limit was reached",
    forfeit: "a player forfeited"
  };

  function rgb(c, alpha) {
    return alpha === undefined ? "rgb(" + c[0] + "," + c[1] + "," + c[2] + ")"
      : "rgba(" + c[0] + "," + c[1] + "," + c[2] + "," + alpha + ")";
  }
  function mix(a, b, t) {
    return [0, 1, 2].map(function (i) { return Math.round(a[i] + (b[i] - a[i]) * t); });
  }
  function shade(c, f) {
    if (f <= 1) return c.map(function (x) { return Math.floor(x * f); });
    return mix(c, [255, 255, 255], Math.min(f - 1, 1));
  }
  function hsv(h, s, v) {
    var c = v * s, x = c * (1 - Math.abs((h / 60) % 2 - 1)), m = v - c, r = 0, g = 0, b = 0;
    if (h < 60) { r = c; g = x; } else if (h < 120) { r = x; g = c; } else if (h < 180) { g = c; b = x; }
    else if (h < 240) { g = x; b = c; } else if (h < 300) { r = x; b = c; } else { r = c; b = x; }
    return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
  }
  function playerColor(i) {
    return i < PLAYER_COLORS.length ? PLAYER_COLORS[i] : hsv((i * 137.5) % 360, 0.7, 0.9);
  }
  function spriteKind(name, i) {
    var low = String(name).toLowerCase();
    if (low.indexOf("python") >= 0 || low.indexOf("snake") >= 0) return "python";
    if (low.indexOf("rat") >= 0 || low.indexOf("mouse") >= 0) return "rat";
    return i % 2 === 0 ? "rat" : "python";
  }
  function formatScore(x) {
    x = Number(x);
    if (Math.abs(x - Math.round(x)) < 1e-9) return String(Math.round(x));
    return x.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
  }
  function agentLabel(agent) {
    if (agent === null || agent === undefined) return "";
    if (typeof agent === "object") {
      var keys = ["name", "spec", "kind"];
      for (var i = 0; i < keys.length; i++) if (keys[i] in agent) return String(agent[keys[i]]);
      return "";
    }
    return String(agent);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function copy(x) { return x === undefined ? undefined : JSON.parse(JSON.stringify(x)); }

  // -- the game, read once ----------------------------------------------------------------------------------
  function Model(game) {
    var W = this.width = Number(game.width), H = this.height = Number(game.height);
    if (!(W > 0 && H > 0)) throw new Error("the game has no width or height");
    var n = this.nCells = W * H;
    this.cells = new Array(n).fill(false);
    this.adj = [];
    for (var i = 0; i < n; i++) this.adj.push({});
    var maze = game.maze || {};
    var self = this;
    Object.keys(maze).forEach(function (key) {
      var a = Number(key);
      if (!(a >= 0 && a < n)) return;
      self.cells[a] = true;
      Object.keys(maze[key] || {}).forEach(function (nb) { self.adj[a][Number(nb)] = Number(maze[key][nb]); });
    });
    this.edges = [];  // [a, b, weight] with a < b
    for (var a = 0; a < n; a++) {
      Object.keys(this.adj[a]).forEach(function (k) {
        var b = Number(k);
        if (b > a) self.edges.push([a, b, self.adj[a][b]]);
      });
    }
    var players = game.players || [];
    if (!players.length) throw new Error("the game has no players");
    this.players = players.map(function (p, i) {
      var name = p.name !== undefined && p.name !== null ? String(p.name) : "player " + i;
      return {
        name: name, team: p.team !== undefined && p.team !== null ? String(p.team) : name,
        agent: agentLabel(p.agent), color: playerColor(i), kind: spriteKind(name, i)
      };
    });
    this.states = game.states || [];
    if (!this.states.length) throw new Error("the game has no states");
    this.result = game.result;
    this.finished = ("result" in game && game.result !== null) || game.format !== "pyrat-replay/1";
    this.nCheese = (game.cheese || []).length;
    this.last = this.states.length - 1;
    this.teams = [];
    this.players.forEach(function (p) { if (self.teams.indexOf(p.team) < 0) self.teams.push(p.team); });
    // Where each player is drawn at each state, the way it faces, and who ate cheese when (the seek marks).
    this.points = [];
    this.facings = [];
    this.marks = [];
    for (var t = 0; t < this.states.length; t++) {
      var st = this.states[t];
      var pts = this.players.map(function (p) { return self.displayPoint(st.locations[p.name], self.mudOf(st, p.name)); });
      var facings;
      if (t === 0) {
        facings = pts.map(function (q) { return q[0] <= W / 2 ? EAST : WEST; });
      } else {
        var prev = this.points[t - 1], prevF = this.facings[t - 1], before = this.states[t - 1];
        facings = pts.map(function (q, p) {
          var f = facingBetween(prev[p], q);
          var mud = self.mudOf(st, self.players[p].name);
          if (mud) f = facingBetween(q, self.displayPoint(mud.target, null)) || f;
          return f || prevF[p];
        });
        this.players.forEach(function (p) {
          var gained = Number((st.scores || {})[p.name] || 0) - Number((before.scores || {})[p.name] || 0);
          if (gained > 1e-9) self.marks.push([t, p.color]);
        });
      }
      this.points.push(pts);
      this.facings.push(facings);
    }
  }
  Model.prototype.mudOf = function (st, name) {
    var muds = st.muds || {};
    var mud = muds[name];
    return mud && mud.target !== null && mud.target !== undefined ? mud : null;
  };
  Model.prototype.weight = function (a, b) { return this.adj[a] && this.adj[a][b] ? this.adj[a][b] : 0; };
  // A cell's centre, or part of the way along the mud the player is crossing (as render.display_point).
  Model.prototype.displayPoint = function (cell, mud) {
    cell = Number(cell);
    var r = Math.floor(cell / this.width), c = cell % this.width, x = c + 0.5, y = r + 0.5;
    if (mud) {
      var target = Number(mud.target);
      var w = target >= 0 && target < this.nCells ? this.weight(cell, target) : 0;
      var count = Number(mud.count || 0);
      var frac = w > 1 && count > 0 && count < w ? (w - count) / w : 0.5;
      x += (target % this.width - c) * frac;
      y += (Math.floor(target / this.width) - r) * frac;
    }
    return [x, y];
  };
  Model.prototype.trails = function (t) {
    var out = [];
    for (var p = 0; p < this.players.length; p++) {
      var pts = [];
      for (var j = Math.max(0, t - TRAIL_LENGTH); j <= t; j++) {
        var q = this.points[j][p];
        if (!pts.length || pts[pts.length - 1][0] !== q[0] || pts[pts.length - 1][1] !== q[1]) pts.push(q);
      }
      out.push(pts);
    }
    return out;
  };
  // [headline, reason, colour] of the game's end (as render.describe_result).
  Model.prototype.describeResult = function () {
    var final = this.states[this.last], scores = final.scores || {}, self = this;
    var totals = {}, colourOf = {};
    this.teams.forEach(function (t) { totals[t] = 0; });
    this.players.forEach(function (p) {
      totals[p.team] += Number(scores[p.name] || 0);
      if (!(p.team in colourOf)) colourOf[p.team] = p.color;
    });
    var values = this.teams.map(function (t) { return totals[t]; }).sort(function (a, b) { return b - a; });
    var figures = values.map(formatScore).join("\u00a0-\u00a0");   // "11 - 9" stays on one line
    var result = this.result && typeof this.result === "object" ? this.result : {};
    var reasonKey = result.reason;
    if (reasonKey === undefined || reasonKey === null) {
      if (!(final.cheese || []).length) reasonKey = "all_cheese_eaten";
      else if (this.teams.length > 1) reasonKey = "ranking_decided";
    }
    var reason = reasonKey ? (REASONS[reasonKey] || String(reasonKey).replace(/_/g, " ")) : "the game is over";
    if (this.teams.length === 1) {
      var only = this.teams[0];
      return [(only || "the team") + " scored " + formatScore(totals[only]), reason, colourOf[only]];
    }
    var winner, draw;
    if ("winner" in result || "draw" in result) {
      winner = result.winner;
      draw = !!result.draw;
    } else {
      var best = values[0];
      var leaders = this.teams.filter(function (t) { return totals[t] === best; });
      winner = leaders.length === 1 ? leaders[0] : null;
      draw = leaders.length !== 1;
    }
    if (draw || winner === null || winner === undefined) return ["Draw " + figures, reason, COL.accent];
    winner = String(winner);
    var several = self.players.filter(function (p) { return p.team === winner; }).length > 1;
    return [(several ? "team " + winner : winner) + " wins " + figures, reason, colourOf[winner] || COL.accent];
  };

  function facingBetween(a, b) {
    var dx = b[0] - a[0], dy = b[1] - a[1];
    if (Math.abs(dx) < 1e-9 && Math.abs(dy) < 1e-9) return null;
    if (Math.abs(dx) >= Math.abs(dy)) return dx > 0 ? EAST : WEST;
    return dy > 0 ? SOUTH : NORTH;
  }

  // Players sharing a spot are spread around it and drawn smaller: [dx, dy, scale] per player.
  function playerOffsets(points) {
    var groups = [];
    points.forEach(function (q, p) {
      for (var g = 0; g < groups.length; g++) {
        var r = points[groups[g][0]];
        if (Math.abs(r[0] - q[0]) < 0.6 && Math.abs(r[1] - q[1]) < 0.6) { groups[g].push(p); return; }
      }
      groups.push([p]);
    });
    var out = points.map(function () { return [0, 0, 1]; });
    groups.forEach(function (members) {
      var k = members.length;
      if (k === 1) return;
      members.forEach(function (p, j) {
        var ang = -Math.PI / 2 + 2 * Math.PI * j / k + (k === 2 ? Math.PI / 4 : 0);
        out[p] = [0.2 * Math.cos(ang), 0.2 * Math.sin(ang), 0.68];
      });
    });
    return out;
  }

  // -- sprites, drawn in code (as sprites.py), cached ---------------------------------------------------------
  function makeCanvas(w, h) {
    var c = document.createElement("canvas");
    c.width = Math.max(1, Math.round(w));
    c.height = Math.max(1, Math.round(h));
    return c;
  }
  function circle(ctx, color, x, y, r) {
    ctx.fillStyle = rgb(color);
    ctx.beginPath();
    ctx.arc(x, y, Math.max(r, 0.001), 0, 2 * Math.PI);
    ctx.fill();
  }
  function ellipse(ctx, color, x, y, w, h) {   // bounding box, as pygame.draw.ellipse
    ctx.fillStyle = rgb(color);
    ctx.beginPath();
    ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, 2 * Math.PI);
    ctx.fill();
  }
  function polygon(ctx, color, pts) {
    ctx.fillStyle = rgb(color);
    ctx.beginPath();
    ctx.moveTo(pts[0][0], pts[0][1]);
    for (var i = 1; i < pts.length; i++) ctx.lineTo(pts[i][0], pts[i][1]);
    ctx.closePath();
    ctx.fill();
  }
  function line(ctx, color, a, b, width) {
    ctx.strokeStyle = rgb(color);
    ctx.lineWidth = width;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }
  function bezier(p0, p1, p2, n) {
    var out = [];
    for (var i = 0; i <= n; i++) {
      var t = i / n, a = (1 - t) * (1 - t), b = 2 * (1 - t) * t, c = t * t;
      out.push([a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]]);
    }
    return out;
  }
  // Unit-square drawings (x, y in 0..1), facing east.
  function drawRat(ctx, color) {
    var fur = mix(COL.ratFur, color, 0.6), belly = shade(fur, 1.35);
    var pts = bezier([0.30, 0.60], [0.02, 0.72], [0.06, 0.30], 24);
    pts.forEach(function (q, i) { circle(ctx, shade(COL.pink, 0.9), q[0], q[1], 0.045 - 0.03 * i / pts.length); });
    ellipse(ctx, fur, 0.16, 0.34, 0.56, 0.42);
    ellipse(ctx, belly, 0.26, 0.52, 0.36, 0.2);
    ellipse(ctx, fur, 0.52, 0.33, 0.32, 0.32);
    polygon(ctx, fur, [[0.70, 0.36], [0.97, 0.53], [0.70, 0.64]]);
    circle(ctx, shade(fur, 0.8), 0.60, 0.30, 0.11);
    circle(ctx, COL.pink, 0.60, 0.30, 0.065);
    circle(ctx, [20, 20, 24], 0.75, 0.45, 0.045);
    circle(ctx, [255, 255, 255], 0.765, 0.435, 0.015);
    circle(ctx, [214, 84, 110], 0.955, 0.53, 0.035);
    [-0.06, 0, 0.06].forEach(function (dy) { line(ctx, [60, 56, 60], [0.88, 0.55], [1.0, 0.55 + dy * 1.6], 0.012); });
  }
  function drawPython(ctx, color) {
    var skin = mix(COL.pythonSkin, color, 0.6), spots = shade(skin, 0.62), belly = shade(skin, 1.3);
    var body = [], n = 40;
    for (var i = 0; i <= n; i++) {
      var t = i / n;
      body.push([0.06 + 0.62 * t, 0.52 + 0.15 * Math.sin(t * 2.2 * Math.PI + 0.4) * (1 - 0.6 * t), 0.05 + 0.085 * t]);
    }
    body.forEach(function (b) { circle(ctx, skin, b[0], b[1], b[2]); });
    body.forEach(function (b) { circle(ctx, belly, b[0], b[1] + b[2] * 0.45, b[2] * 0.45); });
    body.forEach(function (b, j) { if (j % 7 === 3) circle(ctx, spots, b[0], b[1] - b[2] * 0.15, b[2] * 0.55); });
    ellipse(ctx, skin, 0.60, 0.33, 0.32, 0.27);
    ellipse(ctx, spots, 0.66, 0.37, 0.12, 0.08);
    circle(ctx, [250, 220, 60], 0.82, 0.42, 0.045);
    ellipse(ctx, [10, 10, 10], 0.81, 0.39, 0.02, 0.06);
    var tongue = [210, 40, 50];
    line(ctx, tongue, [0.91, 0.49], [0.99, 0.49], 0.018);
    line(ctx, tongue, [0.99, 0.49], [1.0, 0.44], 0.018);
    line(ctx, tongue, [0.99, 0.49], [1.0, 0.54], 0.018);
  }
  function drawCheese(ctx) {
    var apex = [0.08, 0.58], backL = [0.62, 0.20], backR = [0.92, 0.40], drop = 0.30;
    polygon(ctx, COL.cheeseRind, [backL, backR, [backR[0], backR[1] + drop], [backL[0], backL[1] + drop]]);
    polygon(ctx, COL.cheeseFront, [apex, backR, [backR[0], backR[1] + drop], [apex[0], apex[1] + drop]]);
    polygon(ctx, COL.cheeseTop, [apex, backL, backR]);
    [[0.30, 0.70, 0.055], [0.55, 0.62, 0.07], [0.76, 0.70, 0.045], [0.45, 0.79, 0.035], [0.55, 0.38, 0.04]]
      .forEach(function (h) { ellipse(ctx, COL.cheeseHole, h[0] - h[2], h[1] - h[2] * 0.8, 2 * h[2], 1.6 * h[2]); });
  }
  // A sprite of size px (device pixels), with a dark outline, facing a direction; cached.
  var spriteCache = {};
  function sprite(kind, color, size, facing) {
    size = Math.max(2, Math.round(size));
    var key = [kind, color.join(","), size, facing].join("|");
    var hit = spriteCache[key];
    if (hit) return hit;
    var pad = Math.ceil(size * 0.04) + 1;
    var base = makeCanvas(size + 2 * pad, size + 2 * pad), bctx = base.getContext("2d");
    bctx.save();
    bctx.translate(pad, pad);
    if (facing === WEST) { bctx.translate(size, 0); bctx.scale(-1, 1); }
    else if (facing === NORTH) { bctx.translate(0, size); bctx.rotate(-Math.PI / 2); }
    else if (facing === SOUTH) { bctx.translate(size, 0); bctx.rotate(Math.PI / 2); }
    bctx.scale(size, size);
    if (kind === "python") drawPython(bctx, color);
    else if (kind === "rat") drawRat(bctx, color);
    else drawCheese(bctx);
    bctx.restore();
    // Outline: the silhouette in a dark colour, shifted around, under the drawing.
    var sil = makeCanvas(base.width, base.height), sctx = sil.getContext("2d");
    sctx.drawImage(base, 0, 0);
    sctx.globalCompositeOperation = "source-in";
    sctx.fillStyle = rgb(COL.outline);
    sctx.fillRect(0, 0, sil.width, sil.height);
    var out = makeCanvas(base.width, base.height), octx = out.getContext("2d");
    var k = Math.max(1, Math.round(size * (kind === "cheese" ? 0.03 : 0.025)));
    [[-k, 0], [k, 0], [0, -k], [0, k], [-k, -k], [k, k], [-k, k], [k, -k]].forEach(function (d) {
      octx.drawImage(sil, d[0], d[1]);
    });
    octx.drawImage(base, 0, 0);
    spriteCache[key] = out;
    return out;
  }

  // Button icons as SVG (fonts differ in which media symbols they have), on a 20 x 20 grid.
  var ICONS = {
    first: [["rect", 3, 4, 2.4, 12], ["poly", "13,4 5.5,10 13,16"], ["poly", "19,4 11.5,10 19,16"]],
    back: [["rect", 4, 4, 2.4, 12], ["poly", "15,4 7.5,10 15,16"]],
    play: [["poly", "6,3.5 17,10 6,16.5"]],
    pause: [["rect", 5, 4, 3.4, 12], ["rect", 11.6, 4, 3.4, 12]],
    forward: [["poly", "5,4 12.5,10 5,16"], ["rect", 13.6, 4, 2.4, 12]],
    last: [["poly", "1,4 8.5,10 1,16"], ["poly", "7,4 14.5,10 7,16"], ["rect", 14.6, 4, 2.4, 12]]
  };
  function svgIcon(name) {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 20 20");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("fill", "currentColor");
    ICONS[name].forEach(function (shape) {
      var e;
      if (shape[0] === "rect") {
        e = document.createElementNS(NS, "rect");
        e.setAttribute("x", shape[1]);
        e.setAttribute("y", shape[2]);
        e.setAttribute("width", shape[3]);
        e.setAttribute("height", shape[4]);
      } else {
        e = document.createElementNS(NS, "polygon");
        e.setAttribute("points", shape[1]);
      }
      svg.appendChild(e);
    });
    return svg;
  }

  function roundRect(ctx, x, y, w, h, r) {
    r = Math.min(r, w / 2, h / 2);
    ctx.beginPath();
    ctx.moveTo(x + r, y);
    ctx.arcTo(x + w, y, x + w, y + h, r);
    ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r);
    ctx.arcTo(x, y, x + w, y, r);
    ctx.closePath();
  }
  function outlinedText(ctx, text, x, y, size, color, outline) {
    ctx.font = "bold " + Math.round(size) + "px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    ctx.lineWidth = Math.max(2, size / 5);
    ctx.strokeStyle = rgb(outline);
    ctx.strokeText(text, x, y);
    ctx.fillStyle = rgb(color);
    ctx.fillText(text, x, y);
  }

  // -- the board (cached per cell size): floor, holes, mud and walls --------------------------------------------
  function drawBoard(model, cell, margin, dpr) {
    var W = model.width, H = model.height;
    var board = makeCanvas((W * cell + 2 * margin) * dpr, (H * cell + 2 * margin) * dpr);
    var ctx = board.getContext("2d");
    ctx.scale(dpr, dpr);
    ctx.translate(margin, margin);
    ctx.fillStyle = rgb(COL.hole);
    ctx.fillRect(0, 0, W * cell, H * cell);
    for (var idx = 0; idx < model.nCells; idx++) {
      var r = Math.floor(idx / W), c = idx % W, x = c * cell, y = r * cell;
      if (model.cells[idx]) {
        ctx.fillStyle = rgb((r + c) % 2 === 0 ? COL.floor : COL.floorAlt);
        ctx.fillRect(x, y, cell, cell);
      } else {
        ctx.save();
        ctx.beginPath();
        ctx.rect(x, y, cell, cell);
        ctx.clip();
        var step = Math.max(4, Math.floor(cell / 4));
        for (var k = -cell; k < cell; k += step) line(ctx, COL.hatch, [x + k, y + cell], [x + k + cell, y], 1);
        ctx.restore();
      }
    }
    // Mud: a speckled puddle across the edge, with its weight (turns to cross) written on it.
    model.edges.forEach(function (e) {
      var a = e[0], b = e[1], w = e[2];
      if (w <= 1) return;
      var r = Math.floor(a / W), c = a % W;
      var along = Math.max(3, cell * 0.9), across = Math.max(3, cell * 0.52), cx, cy, pw, ph;
      if (b === a + 1) { pw = along; ph = across; cx = (c + 1) * cell; cy = (r + 0.5) * cell; }
      else { pw = across; ph = along; cx = (c + 0.5) * cell; cy = (r + 1) * cell; }
      var x0 = cx - pw / 2, y0 = cy - ph / 2;
      ctx.fillStyle = rgb(COL.mudDark);
      roundRect(ctx, x0, y0, pw, ph, Math.min(pw, ph) / 2);
      ctx.fill();
      ctx.fillStyle = rgb(COL.mud);
      roundRect(ctx, x0 + pw * 0.04, y0 + ph * 0.07, pw * 0.92, ph * 0.86, Math.min(pw, ph) / 2);
      ctx.fill();
      // A fixed pseudo-random speckle (from the edge: the same on every page).
      var s = ((a * 7 + b) * 2654435761 + 12345) >>> 0;
      for (var i = 0; i < 14; i++) {
        s = (Math.imul(1103515245, s) + 12345) & 0x7fffffff;
        var fx = 0.15 + 0.7 * ((s >>> 8) % 1000) / 1000;
        s = (Math.imul(1103515245, s) + 12345) & 0x7fffffff;
        var fy = 0.25 + 0.5 * ((s >>> 8) % 1000) / 1000;
        s = (Math.imul(1103515245, s) + 12345) & 0x7fffffff;
        var light = ((s >>> 12) % 3) === 0;
        var rad = Math.max(0.5, Math.min(pw, ph) * (0.05 + 0.06 * ((s >>> 4) % 100) / 100));
        circle(ctx, light ? COL.mudLight : COL.mudDark, x0 + fx * pw, y0 + fy * ph, rad);
      }
      outlinedText(ctx, String(w), cx, cy + 0.5, Math.max(9, cell * 0.45), COL.mudText, COL.mudTextOutline);
    });
    // Walls: every side of an existing cell that leads nowhere (no edge, a hole, the border).
    var t = Math.max(2, Math.round(cell * 0.13)), half = t / 2;
    ctx.fillStyle = rgb(COL.wall);
    for (var j = 0; j < model.nCells; j++) {
      if (!model.cells[j]) continue;
      var rr = Math.floor(j / W), cc = j % W, X = cc * cell, Y = rr * cell;
      if (rr === 0 || !model.weight(j, j - W)) ctx.fillRect(X - half, Y - half, cell + t, t);
      if (rr === H - 1 || !model.weight(j, j + W)) ctx.fillRect(X - half, Y + cell - half, cell + t, t);
      if (cc === W - 1 || !model.weight(j, j + 1)) ctx.fillRect(X + cell - half, Y - half, t, cell + t);
      if (cc === 0 || !model.weight(j, j - 1)) ctx.fillRect(X - half, Y - half, t, cell + t);
    }
    return board;
  }

  // -- the player ----------------------------------------------------------------------------------------------
  function Player(root, game, options) {
    options = options || {};
    this.root = root;
    this.model = new Model(game);
    this.turn = 0;
    this.playing = false;
    this.speed = options.speed > 0 ? Number(options.speed) : DEFAULT_SPEED;
    this.boardCache = null;
    this.frame = null;
    this.buildDom();
    var self = this;
    window.addEventListener("resize", function () { self.layout(); self.draw(); });
    window.addEventListener("hashchange", function () {
      var t = turnFromUrl(self.model.last);
      if (t !== null) { self.pause(); self.seek(t); }
    });
    document.addEventListener("keydown", function (ev) { self.onKey(ev); });
    var start = turnFromUrl(this.model.last);
    if (start === null) start = parseTurn(options.turn, this.model.last);
    this.layout();
    this.seek(start === null ? 0 : start);
    this.ready = true;   // from now on the address follows the turn shown (not for the first one)
  }

  Player.prototype.buildDom = function () {
    var m = this.model, self = this;
    this.root.textContent = "";
    this.root.classList.add("pyrat-player");
    var stage = this.stage = el("div", "pyrat-stage");
    this.boardEl = el("div", "pyrat-board");
    this.canvas = el("canvas", "pyrat-canvas");
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "the maze, the cheese and the players at the turn shown");
    this.boardEl.appendChild(this.canvas);
    stage.appendChild(this.boardEl);
    var panel = this.panel = el("aside", "pyrat-panel");
    var turnLine = el("div", "pyrat-turn");
    turnLine.appendChild(document.createTextNode("Turn "));
    this.turnEl = el("b", "pyrat-turn-number", "0");
    turnLine.appendChild(this.turnEl);
    turnLine.appendChild(document.createTextNode(" / " + (m.states[m.last].turn !== undefined ? m.states[m.last].turn : m.last)));
    panel.appendChild(turnLine);
    this.cheeseEl = el("div", "pyrat-cheese", "");
    panel.appendChild(this.cheeseEl);
    panel.appendChild(el("div", "pyrat-size", m.width + " x " + m.height + " maze, " + m.nCheese + " cheese"));
    this.cards = m.players.map(function (p) {
      var card = el("div", "pyrat-card");
      card.style.borderLeftColor = rgb(p.color);
      var icon = el("canvas", "pyrat-card-icon");
      var head = el("div", "pyrat-card-head");
      var name = el("span", "pyrat-name", p.name);
      name.style.color = rgb(shade(p.color, 1.25));
      var score = el("span", "pyrat-score", "0");
      head.appendChild(name);
      head.appendChild(score);
      var body = el("div", "pyrat-card-body");
      body.appendChild(head);
      if (p.agent && p.agent !== p.name) body.appendChild(el("div", "pyrat-agent", p.agent));
      if (p.team !== p.name && m.teams.length < m.players.length) body.appendChild(el("div", "pyrat-agent", "team " + p.team));
      var mud = el("div", "pyrat-mud", "");
      mud.hidden = true;
      body.appendChild(mud);
      card.appendChild(icon);
      card.appendChild(body);
      panel.appendChild(card);
      return {card: card, icon: icon, score: score, mud: mud, player: p};
    });
    this.resultEl = el("div", "pyrat-result");
    this.resultEl.hidden = true;
    panel.appendChild(this.resultEl);
    stage.appendChild(panel);
    this.root.appendChild(stage);

    var controls = el("div", "pyrat-controls");
    function button(icon, title, action, cls) {
      var b = el("button", "pyrat-button" + (cls ? " " + cls : ""));
      b.type = "button";
      b.title = title;
      b.setAttribute("aria-label", title);
      b.appendChild(svgIcon(icon));
      b.addEventListener("click", function () { action(); });
      controls.appendChild(b);
      return b;
    }
    button("first", "first turn (Home)", function () { self.pause(); self.seek(0); });
    button("back", "one turn back (left arrow)", function () { self.pause(); self.seek(self.turn - 1); });
    this.playButton = button("play", "play / pause (space)", function () { self.toggle(); }, "pyrat-play");
    button("forward", "one turn forward (right arrow)", function () { self.pause(); self.seek(self.turn + 1); });
    button("last", "last turn (End)", function () { self.pause(); self.seek(m.last); });
    var seekBox = el("div", "pyrat-seek");
    this.range = el("input", "pyrat-range");
    this.range.type = "range";
    this.range.min = "0";
    this.range.max = String(m.last);
    this.range.step = "1";
    this.range.value = "0";
    this.range.setAttribute("aria-label", "turn");
    this.range.addEventListener("input", function () { self.pause(); self.seek(Number(self.range.value)); });
    seekBox.appendChild(this.range);
    var marks = el("div", "pyrat-marks");
    m.marks.forEach(function (mk) {
      var tick = el("span", "pyrat-mark");
      tick.style.left = (100 * mk[0] / Math.max(1, m.last)) + "%";
      tick.style.background = rgb(mk[1]);
      marks.appendChild(tick);
    });
    seekBox.appendChild(marks);
    controls.appendChild(seekBox);
    this.counterEl = el("span", "pyrat-counter", "");
    controls.appendChild(this.counterEl);
    var speedLabel = el("label", "pyrat-speed-label");
    this.speedSelect = el("select", "pyrat-speed");
    this.speedSelect.title = "turns per second (up / down arrows)";
    var speeds = SPEEDS.slice();
    if (speeds.indexOf(this.speed) < 0) { speeds.push(this.speed); speeds.sort(function (a, b) { return a - b; }); }
    speeds.forEach(function (s) {
      var o = el("option", "", formatScore(s) + " turns/s");
      o.value = String(s);
      if (s === self.speed) o.selected = true;
      self.speedSelect.appendChild(o);
    });
    this.speedSelect.addEventListener("change", function () { self.setSpeed(Number(self.speedSelect.value)); });
    speedLabel.appendChild(this.speedSelect);
    controls.appendChild(speedLabel);
    this.root.appendChild(controls);
    this.root.appendChild(el("p", "pyrat-keys",
      "Keys: space play / pause, \u2190 \u2192 one turn, page up / down ten turns, home / end, \u2191 \u2193 speed. " +
      "Add #turn=T to the address to open at turn T."));
  };

  Player.prototype.layout = function () {
    var m = this.model;
    // The board takes what the panel leaves of the stage's width (all of it when the panel wraps below).
    var stageW = this.stage.clientWidth || 900, panelW = this.panel.offsetWidth || 260;
    var avail = stageW >= 420 + panelW + 14 ? stageW - panelW - 14 : stageW;
    avail = Math.max(120, avail);
    var maxH = Math.max(240, (window.innerHeight || 800) - 150);
    var cell = Math.floor(Math.min(avail / (m.width + 0.4), maxH / (m.height + 0.4), 64));
    cell = Math.max(8, cell);
    var margin = Math.max(2, Math.round(cell * 0.13));
    var dpr = window.devicePixelRatio || 1;
    this.cell = cell;
    this.margin = margin;
    this.dpr = dpr;
    var w = m.width * cell + 2 * margin, h = m.height * cell + 2 * margin;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.canvas.style.width = w + "px";
    this.canvas.style.height = h + "px";
    var key = cell + "|" + margin + "|" + dpr;
    if (!this.boardCache || this.boardCache.key !== key) this.boardCache = {key: key, canvas: drawBoard(m, cell, margin, dpr)};
    var self = this;
    this.cards.forEach(function (c) {
      var s = 34;
      c.icon.width = Math.round(s * dpr);
      c.icon.height = Math.round(s * dpr);
      c.icon.style.width = s + "px";
      c.icon.style.height = s + "px";
      var ictx = c.icon.getContext("2d");
      var spr = sprite(c.player.kind, c.player.color, s * dpr, EAST);
      ictx.drawImage(spr, (c.icon.width - spr.width) / 2, (c.icon.height - spr.height) / 2);
    });
    return self;
  };

  Player.prototype.draw = function () {
    var m = this.model, t = this.turn, st = m.states[t], cell = this.cell, dpr = this.dpr;
    var ctx = this.canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = rgb(COL.background);
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.boardCache.canvas, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, this.margin * dpr, this.margin * dpr);
    // Cheese still on the board.
    var cs = sprite("cheese", [0, 0, 0], cell * 0.7 * dpr, EAST);
    (st.cheese || []).forEach(function (c) {
      var x = (c % m.width + 0.5) * cell, y = (Math.floor(c / m.width) + 0.5) * cell;
      ctx.drawImage(cs, x - cs.width / dpr / 2, y - cs.height / dpr / 2, cs.width / dpr, cs.height / dpr);
    });
    // Trails: fading lines through each player's last positions, slightly offset so they do not hide each other.
    var points = m.points[t], trails = m.trails(t), n = m.players.length;
    var width = Math.max(3, cell * 0.14);
    m.players.forEach(function (p, i) {
      var pts = trails[i];
      if (pts.length < 2) return;
      var off = n > 1 ? (i - (n - 1) / 2) * 0.09 : 0;
      var px = pts.map(function (q) { return [(q[0] + off) * cell, (q[1] + off) * cell]; });
      var k = px.length - 1;
      for (var j = 0; j < k; j++) {
        var alpha = ((40 + 150 * (j + 1) / k) / 255).toFixed(3);
        ctx.strokeStyle = rgb(p.color, alpha);
        ctx.lineWidth = width;
        ctx.lineCap = "butt";
        ctx.beginPath();
        ctx.moveTo(px[j][0], px[j][1]);
        ctx.lineTo(px[j + 1][0], px[j + 1][1]);
        ctx.stroke();
        ctx.fillStyle = rgb(p.color, alpha);
        ctx.beginPath();
        ctx.arc(px[j][0], px[j][1], Math.max(2, width), 0, 2 * Math.PI);
        ctx.fill();
      }
    });
    // Players: a coloured token and the sprite; a mud badge with the turns still to wait.
    var offsets = playerOffsets(points), facings = m.facings[t];
    m.players.forEach(function (p, i) {
      var o = offsets[i];
      var cx = (points[i][0] + o[0]) * cell, cy = (points[i][1] + o[1]) * cell;
      var size = Math.max(6, Math.max(cell * 0.96, Math.min(32, cell * 1.6)) * o[2]);
      var radius = Math.max(3, size * 0.48), ring = Math.max(2, size / 14);
      ctx.fillStyle = "rgba(255,255,255,0.78)";
      ctx.beginPath();
      ctx.arc(cx, cy, radius + 2, 0, 2 * Math.PI);
      ctx.fill();
      circle(ctx, p.color, cx, cy, radius);
      circle(ctx, shade(p.color, 1.55), cx, cy, radius - ring);
      var spr = sprite(p.kind, p.color, size * dpr, facings[i]);
      ctx.drawImage(spr, cx - spr.width / dpr / 2, cy - spr.height / dpr / 2, spr.width / dpr, spr.height / dpr);
      var mud = m.mudOf(st, p.name);
      if (mud) {
        var br = Math.max(6, size * 0.2), bx = cx + size * 0.34, by = cy - size * 0.34;
        circle(ctx, COL.mudDark, bx, by, br + Math.max(1, br / 5));
        circle(ctx, COL.mudLight, bx, by, br);
        outlinedText(ctx, String(Number(mud.count || 0)), bx, by + 0.5, Math.max(9, br * 1.3), [255, 255, 255], [40, 24, 10]);
      }
    });
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.drawPanel();
  };

  Player.prototype.drawPanel = function () {
    var m = this.model, t = this.turn, st = m.states[t], scores = st.scores || {};
    this.turnEl.textContent = String(st.turn !== undefined ? st.turn : t);
    var left = (st.cheese || []).length;
    this.cheeseEl.textContent = left + (m.nCheese ? " of " + m.nCheese : "") + " cheese left";
    this.cards.forEach(function (c) {
      c.score.textContent = formatScore(scores[c.player.name] || 0);
      var mud = m.mudOf(st, c.player.name);
      c.mud.hidden = !mud;
      if (mud) {
        var k = Number(mud.count || 0);
        c.mud.textContent = "in mud: " + k + " more turn" + (k === 1 ? "" : "s");
      }
    });
    var showResult = t === m.last && m.finished;
    this.resultEl.hidden = !showResult;
    if (showResult) {
      var r = m.describeResult();
      this.resultEl.textContent = "";
      this.resultEl.style.borderColor = rgb(r[2]);
      this.resultEl.style.background = rgb(shade(r[2], 0.35));
      this.resultEl.appendChild(el("div", "pyrat-result-title", "Game over"));
      var head = el("div", "pyrat-result-head", r[0]);
      head.style.color = rgb(shade(r[2], 1.35));
      this.resultEl.appendChild(head);
      this.resultEl.appendChild(el("div", "pyrat-result-reason", r[1]));
    }
    this.range.value = String(t);
    this.counterEl.textContent = t + " / " + m.last;
    var icon = this.playing ? "pause" : "play";
    if (this.playButton.getAttribute("data-icon") !== icon) {
      this.playButton.textContent = "";
      this.playButton.appendChild(svgIcon(icon));
      this.playButton.setAttribute("data-icon", icon);
    }
    this.root.classList.toggle("pyrat-playing", this.playing);
  };

  Player.prototype.seek = function (t) {
    t = Math.round(Number(t));
    if (!isFinite(t)) t = 0;
    this.turn = Math.max(0, Math.min(this.model.last, t));
    this.draw();
    if (!this.playing && this.ready) rememberTurn(this.turn);
    return this.turn;
  };
  Player.prototype.play = function () {
    if (this.playing) return;
    if (this.turn >= this.model.last) this.seek(0);
    this.playing = true;
    this.clock = null;
    this.acc = 0;
    var self = this;
    var tick = function (now) {
      if (!self.playing) return;
      if (self.clock === null) self.clock = now;
      self.acc += (now - self.clock) / 1000 * self.speed;
      self.clock = now;
      if (self.acc >= 1) {
        var steps = Math.floor(self.acc);
        self.acc -= steps;
        self.seek(self.turn + steps);
        if (self.turn >= self.model.last) { self.pause(); return; }
      }
      self.frame = window.requestAnimationFrame(tick);
    };
    this.frame = window.requestAnimationFrame(tick);
    this.drawPanel();
  };
  Player.prototype.pause = function () {
    if (this.frame !== null) window.cancelAnimationFrame(this.frame);
    this.frame = null;
    var was = this.playing;
    this.playing = false;
    this.drawPanel();
    if (was && this.ready) rememberTurn(this.turn);
  };
  Player.prototype.toggle = function () { if (this.playing) this.pause(); else this.play(); };
  Player.prototype.setSpeed = function (s) {
    if (!(s > 0)) return;
    this.speed = s;
    var v = String(s);
    for (var i = 0; i < this.speedSelect.options.length; i++) {
      if (this.speedSelect.options[i].value === v) this.speedSelect.selectedIndex = i;
    }
  };
  Player.prototype.onKey = function (ev) {
    var tag = ev.target && ev.target.tagName;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || tag === "SELECT" || tag === "TEXTAREA") return;
    if (tag === "INPUT" && !(ev.target.type === "range" && ev.key === " ")) return;  // the seek bar has its arrows
    if (tag === "BUTTON" && (ev.key === " " || ev.key === "Enter")) return;           // the button's own click
    var m = this.model, handled = true, i;
    switch (ev.key) {
      case " ": case "k": this.toggle(); break;
      case "ArrowRight": this.pause(); this.seek(this.turn + 1); break;
      case "ArrowLeft": this.pause(); this.seek(this.turn - 1); break;
      case "PageDown": this.pause(); this.seek(this.turn + 10); break;
      case "PageUp": this.pause(); this.seek(this.turn - 10); break;
      case "Home": this.pause(); this.seek(0); break;
      case "End": this.pause(); this.seek(m.last); break;
      case "ArrowUp":
        i = SPEEDS.indexOf(this.speed);
        this.setSpeed(SPEEDS[Math.min(SPEEDS.length - 1, i < 0 ? 4 : i + 1)]);
        break;
      case "ArrowDown":
        i = SPEEDS.indexOf(this.speed);
        this.setSpeed(SPEEDS[Math.max(0, i < 0 ? 3 : i - 1)]);
        break;
      default: handled = false;
    }
    if (handled) ev.preventDefault();
  };
  Player.prototype.state = function () {
    var st = this.model.states[this.turn];
    return {
      turn: this.turn, stateTurn: st.turn, locations: copy(st.locations), scores: copy(st.scores),
      cheese: copy(st.cheese || []), muds: copy(st.muds || {}), playing: this.playing
    };
  };
  Player.prototype.api = function () {
    var self = this;
    return {
      state: function () { return self.state(); },
      seek: function (t) { self.pause(); return self.seek(t); },
      play: function () { self.play(); },
      pause: function () { self.pause(); },
      setSpeed: function (s) { self.setSpeed(Number(s)); },
      nTurns: this.model.states.length,   // states 0 .. nTurns - 1
      last: this.model.last,
      players: this.model.players.map(function (p) { return p.name; })
    };
  };

  // -- the turn in the address: ?turn=T or #turn=T --------------------------------------------------------------
  function parseTurn(text, last) {
    if (text === undefined || text === null || text === "") return null;
    text = String(text).trim();
    if (text === "last") return last;
    if (!/^-?\d+$/.test(text)) return null;
    var t = parseInt(text, 10);
    if (t < 0) t += last + 1;
    return Math.max(0, Math.min(last, t));
  }
  function turnFromUrl(last) {
    var hash = (window.location.hash || "").replace(/^#/, "");
    var fromHash = new URLSearchParams(hash).get("turn");
    var t = parseTurn(fromHash, last);
    if (t !== null) return t;
    return parseTurn(new URLSearchParams(window.location.search || "").get("turn"), last);
  }
  function rememberTurn(t) {   // the address names the turn shown, so that a copied link opens there
    try {
      if (new URLSearchParams((window.location.hash || "").replace(/^#/, "")).get("turn") === String(t)) return;
      window.history.replaceState(null, "", "#turn=" + t);
    } catch (e) { /* some browsers refuse it for file:// pages: the address simply does not follow */ }
  }

  function showError(root, message) {
    root.textContent = "";
    root.appendChild(el("p", "pyrat-error", "This replay cannot be shown: " + message));
  }

  function boot() {
    var data = document.getElementById("pyrat-replay");
    var root = document.getElementById("pyrat-player");
    if (!data || !root) return;
    var game;
    try {
      game = JSON.parse(data.textContent);
    } catch (e) {
      showError(root, "its data is not valid JSON (" + e.message + ")");
      return;
    }
    try {
      var player = new Player(root, game, {turn: root.getAttribute("data-turn"),
        speed: Number(root.getAttribute("data-speed"))});
      window.pyratPlayer = player.api();
    } catch (e) {
      showError(root, e.message);
    }
  }

  window.PyratPlayer = Player;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
