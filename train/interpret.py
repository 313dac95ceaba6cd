"""Looking inside trained networks: a CNN's first filters, a transformer's attention maps, values drawn on a maze.

* `draw_maze` draws a maze with matplotlib (walls, mud, holes, cheese, players) and optionally colours its
  cells by a value per cell (an activation, an attention weight...). It works for any ``Maze``.
* CNN (`pyrat_rl.agents.networks.ConvPolicyNet`): `first_layer_filters` (the weights ``[filters, 14, 3, 3]``),
  `filter_channel_strength` (how strongly each filter weighs each input plane), `strongest_channels`
  (a table: per filter, the planes it weighs most and with which sign), `filter_responses` (the first
  layer's output maps on one observation), `plot_filters`.
* Transformer (`pyrat_rl.agents.networks.TransformerPolicyNet`): `attention_maps` runs the model with its blocks
  recording and returns the weights ``[layers, B, heads, T, T]`` (token 0 is the game token, token
  ``1 + cell`` a cell); `attention_from_cell` takes the row of one cell (what that cell attends to) as
  ``[heads, N]`` maps; `plot_attention` draws them over the maze; `attention_share` measures how much of
  a cell's attention goes to chosen cells (the cheese, say), against the share uniform attention gives.
* `draw_sample`: one sample of an expert dataset (maze, cheese, players, the expert's move as an arrow).

matplotlib is imported when a drawing function is called.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from pyrat_env.encoders import CELL_CHANNELS, N_CELL, ROTATED_ACTION
from pyrat_env.engine import ACTION_DCOL, ACTION_DROW, ACTION_NAMES, EAST, SOUTH, Maze

PLAYER_COLOURS = ("#f07024", "#2880f0")   # the viewer's orange (seat 0) and blue (seat 1)


# -- mazes -------------------------------------------------------------------------------------------------
def draw_maze(ax, maze: Maze, values: np.ndarray | None = None, cheese: Sequence[int] = (),
              players: Sequence[int] = (), cmap: str = "viridis", title: str | None = None, colorbar: bool = False,
              vmin: float | None = None, vmax: float | None = None):
    """Draw ``maze`` on a matplotlib axis: cell ``row * width + col`` is at ``x = col``, ``y = row`` (row 0 on top).

    ``values`` (``[N]``): colours the cells (holes stay dark). Walls are black lines, mud edges brown dashes
    (with their weight), cheese yellow dots, players orange (seat 0) and blue (seat 1) discs.
    """
    w, h = maze.width, maze.height
    if values is not None:
        grid = np.asarray(values, dtype=float).reshape(h, w).copy()
        grid[~maze.cells.reshape(h, w)] = np.nan
        im = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, origin="upper",
                       extent=(-0.5, w - 0.5, h - 0.5, -0.5))
        if colorbar:
            ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    else:
        ax.imshow(np.where(maze.cells.reshape(h, w), 1.0, np.nan), cmap="Greys", vmin=0, vmax=4, origin="upper",
                  extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    ax.set_facecolor("#1b1f28")
    for c in range(maze.n_cells):
        if not maze.cells[c]:
            continue
        r, col = divmod(c, w)
        for action, nb, seg in ((EAST, c + 1, ((col + 0.5, col + 0.5), (r - 0.5, r + 0.5))),
                                (SOUTH, c + w, ((col - 0.5, col + 0.5), (r + 0.5, r + 0.5)))):
            inside = col + 1 < w if action == EAST else r + 1 < h
            if not inside or not maze.cells[nb]:
                continue
            weight = int(maze.weights[c, action])
            if weight == 0:
                ax.plot(*seg, color="black", lw=2.2, solid_capstyle="round")
            elif weight > 1:
                ax.plot(*seg, color="#8b5a2b", lw=2.0, ls=(0, (2, 1.5)))
    ax.plot([-0.5, w - 0.5, w - 0.5, -0.5, -0.5], [-0.5, -0.5, h - 0.5, h - 0.5, -0.5], color="black", lw=2.5)
    if len(cheese):
        cr, cc = np.divmod(np.asarray(cheese, dtype=int), w)
        ax.scatter(cc, cr, s=40, c="#ffd23c", edgecolors="#7a5c00", zorder=3)
    for seat, p in enumerate(players):
        r, col = divmod(int(p), w)
        ax.scatter([col + (0.15 if seat else -0.15)], [r], s=110, c=PLAYER_COLOURS[seat % 2], edgecolors="white",
                   linewidths=1.5, zorder=5 - seat)
    ax.set_xlim(-0.6, w - 0.4)
    ax.set_ylim(h - 0.4, -0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def draw_sample(ax, data, i: int, values: np.ndarray | None = None, title: str | None = None, **kwargs):
    """Sample ``i`` of a `pyrat_rl.train.supervised.ExpertData`: its maze, the cheese left, the recorded player (orange)
    and the other (blue), and the expert's move as an arrow. ``values``: colours the cells (see `draw_maze`)."""
    st = data.states
    maze = st.mazes[int(st.game[i])]
    pos = [int(p) for p in st.pos[i]]
    action = int(st.action[i])
    if st.rot[i]:
        action = int(ROTATED_ACTION[action])          # the dataset keeps moves in the player's (rotated) view
    draw_maze(ax, maze, values, cheese=np.flatnonzero(st.cheese[i]), players=pos, **kwargs)
    if action:
        r, c = divmod(pos[0], maze.width)
        dc, dr = ACTION_DCOL[action], ACTION_DROW[action]
        ax.annotate("", xy=(c + 1.05 * dc, r + 1.05 * dr), xytext=(c + 0.3 * dc, r + 0.3 * dr),
                    arrowprops={"arrowstyle": "-|>", "color": "#d62020", "lw": 3, "mutation_scale": 18}, zorder=6)
    ax.set_title(title or f"sample {i}: the expert plays {ACTION_NAMES[action]}", fontsize=9)
    return ax


# -- CNN filters -------------------------------------------------------------------------------------------
def _first_conv(model: nn.Module) -> nn.Conv2d:
    conv = getattr(model, "first_layer", None)
    if conv is None:
        conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError(f"{type(model).__name__} has no convolution")
    return conv


def first_layer_filters(model: nn.Module) -> np.ndarray:
    """The first convolution's weights ``[filters, input planes, k, k]`` (numpy)."""
    return _first_conv(model).weight.detach().cpu().numpy().copy()


def filter_channel_strength(model: nn.Module) -> np.ndarray:
    """``[filters, planes]``: the sum of absolute weights each filter gives each input plane."""
    return np.abs(first_layer_filters(model)).sum(axis=(2, 3))


def strongest_channels(model: nn.Module, top: int = 3, channels: Sequence[str] = CELL_CHANNELS) -> list[dict]:
    """Per filter: its ``top`` strongest input planes, each with the sign of its centre weight (``+``/``-``)."""
    weights = first_layer_filters(model)
    strength = np.abs(weights).sum(axis=(2, 3))
    k = weights.shape[-1] // 2
    rows = []
    for f in range(len(weights)):
        order = np.argsort(-strength[f])[:top]
        share = strength[f] / max(strength[f].sum(), 1e-12)
        parts = [f"{channels[c]}({'+' if weights[f, c, k, k] >= 0 else '-'}, {share[c]:.0%})" for c in order]
        rows.append({"filter": f, "strongest planes": ", ".join(parts), "total": float(strength[f].sum())})
    return rows


@torch.no_grad()
def filter_responses(model: nn.Module, obs: np.ndarray | torch.Tensor) -> np.ndarray:
    """The first convolution's output after ReLU on one ``planes`` observation: ``[filters, H, W]``."""
    conv = _first_conv(model)
    x = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=conv.weight.device)
    if x.dim() == 3:
        x = x[None]
    return torch.relu(conv(x[:, :conv.in_channels]))[0].cpu().numpy()


def plot_filters(model: nn.Module, filters: Sequence[int] | None = None, channels: Sequence[int] | None = None,
                 channel_names: Sequence[str] = CELL_CHANNELS):
    """A grid of first-layer weights: one row per filter, one column per input plane (red +, blue -)."""
    import matplotlib.pyplot as plt

    weights = first_layer_filters(model)
    filters = list(range(min(8, len(weights)))) if filters is None else list(filters)
    channels = list(range(min(N_CELL, weights.shape[1]))) if channels is None else list(channels)
    lim = float(np.abs(weights[filters][:, channels]).max()) or 1.0
    fig, axes = plt.subplots(len(filters), len(channels), figsize=(0.8 * len(channels) + 1, 0.8 * len(filters) + 0.6),
                             squeeze=False)
    for i, f in enumerate(filters):
        for j, c in enumerate(channels):
            ax = axes[i, j]
            ax.imshow(weights[f, c], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(channel_names[c].replace("_", "\n"), fontsize=7)
            if j == 0:
                ax.set_ylabel(f"filter {f}", fontsize=7)
    fig.tight_layout()
    return fig


# -- attention ---------------------------------------------------------------------------------------------
@torch.no_grad()
def attention_maps(model: nn.Module, obs: np.ndarray | torch.Tensor) -> np.ndarray:
    """Attention weights of every block: ``[layers, B, heads, T, T]`` (T = N + 1: the game token, then cells)."""
    blocks = list(getattr(model, "blocks", []))
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no attention blocks")
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=device)
    if x.dim() == 2:
        x = x[None]
    was = model.training
    model.eval()
    for b in blocks:
        b.record = True
    try:
        model(x)
        maps = np.stack([b.attention.cpu().numpy() for b in blocks])
    finally:
        for b in blocks:
            b.record = False
            b.attention = None
        model.train(was)
    return maps


def attention_from_cell(maps: np.ndarray, cell: int, layer: int = -1, sample: int = 0) -> np.ndarray:
    """What cell ``cell`` attends to in ``layer``: ``[heads, N]`` weights over the cells (the game token left out)."""
    return maps[layer, sample, :, 1 + int(cell), 1:]


def plot_attention(maze: Maze, maps: np.ndarray, cell: int, layer: int = -1, sample: int = 0,
                   cheese: Sequence[int] = (), players: Sequence[int] = (), heads: Sequence[int] | None = None):
    """One panel per head: the attention of ``cell`` over the maze (weights renormalised over the cells)."""
    import matplotlib.pyplot as plt

    att = attention_from_cell(maps, cell, layer, sample)
    heads = list(range(att.shape[0])) if heads is None else list(heads)
    fig, axes = plt.subplots(1, len(heads), figsize=(3.2 * len(heads), 3.0), squeeze=False)
    for ax, hd in zip(axes[0], heads):
        a = att[hd] / max(att[hd].sum(), 1e-12)
        draw_maze(ax, maze, a, cheese=cheese, players=players, cmap="magma", title=f"head {hd}",
                  vmin=0.0, vmax=float(a.max()))
    layer_no = layer if layer >= 0 else maps.shape[0] + layer
    fig.suptitle(f"layer {layer_no}: where cell {cell} looks", fontsize=10)
    fig.tight_layout()
    return fig


def attention_share(maps: np.ndarray, from_cells: Sequence[int], targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much attention goes from ``from_cells[b]`` to the cells where ``targets[b]`` is True, per layer and head.

    ``maps``: `attention_maps` output for B samples; ``targets``: ``[B, N]`` bool. Returns ``(share, uniform)``:
    the mean attention mass on the target cells ``[layers, heads]``, and the mean share of target cells
    (what attention spread evenly over the cells would give).
    """
    targets = np.asarray(targets, dtype=bool)
    rows = np.stack([maps[:, b, :, 1 + int(c), 1:] for b, c in enumerate(from_cells)])   # [B, L, H, N]
    rows = rows / rows.sum(-1, keepdims=True)
    share = (rows * targets[:, None, None, :]).sum(-1).mean(0)
    return share, float(targets.mean(-1).mean())
