"""The project's networks, in two heads: actor-critic policies (SB3 feature extractors) and classifiers.

**Actor-critic** (the policies PPO and ``pyrat train imitate`` train): each network is a stable-baselines3
``BaseFeaturesExtractor`` chosen by name (`NETWORKS`): it turns one observation of the encoder it is made
for (``pyrat_env.encoders``) into a feature vector, on top of which SB3 puts the policy and value heads
(`policy_kwargs` gives the whole set-up, the same for PPO and imitation).

* ``mlp`` (`MlpNet`, encoder ``flat``): two fully connected layers.
* ``cnn`` (`CnnNet`, encoder ``planes``): small padded 3x3 convolutions (SB3's NatureCNN cannot take a
  15 x 13 grid): a full-resolution stem, then two stride-2 layers; the stem's features *at the acting
  player's cell* (read through the ``self`` plane) and the global features (scores, cheese left, turn,
  constant planes in the input) join the flattened map before the last layer. The global planes skip the
  convolutions: convolving constant planes costs time and adds nothing. By default (``plan=True``) the
  network also gets travel-time planes (`MazePlanner`: fastest paths through walls and mud, which a few
  convolutions cannot find) and reads its move planes through attention maps.
* ``fcn`` (`FcnNet`, encoder ``planes``): the one network for every maze size: the ideas of ``cnn``
  (travel-time planes, attention read-outs of the move planes, features at the player's cell, globals apart)
  in a fully convolutional network whose read-outs do not depend on the height and width (means and maxima
  over the board, attention over its cells), so the same weights play ``tiny``, ``official``, ``classic``
  and ``tournament``. `pad_planes` pads observations to a larger grid without changing its features.
* ``transformer`` (`TransformerNet`, encoder ``tokens``): tokens of 2 x 2 cells (or single cells) with
  Fourier features of their (row, col) position, a few pre-norm self-attention layers over all of them,
  then the mean of the tokens, the acting player's token and the globals.

**Classifiers** (the course notebooks' models, trained on an expert's moves by
``pyrat_rl.train.supervised.fit``): plain modules mapping an observation to 5 action logits, by kind
(`CLASSIFIERS`, `make_classifier`): ``linear`` (`LinearPolicyNet`, multinomial logistic regression),
``mlp`` (`MlpPolicyNet`, dropout and batch-norm options), ``cnn`` (`ConvPolicyNet`, full-resolution
convolutions read at the player's cell), ``transformer`` (`TransformerPolicyNet`, one token per cell,
`AttentionBlock` s that can record their attention maps).

Both heads are saved in the same checkpoint format and loaded by the same loader
(``pyrat_rl.agents.policy_agent``; the metadata's ``head`` says which). Sizes are keyword options
(``net_kwargs``) saved in every checkpoint, so a model can be rebuilt from its metadata alone; this module
is importable on its own, so a saved model finds its classes anywhere. `size_free` says which networks
play every maze size (the others are built for the size they were trained on). ``count_parameters`` and
``describe`` report sizes; the training commands print them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from pyrat_env.encoders import CH_CHEESE, CH_SELF, N_CELL, N_GLOBAL

CH_HOLE = 8                 # the cell channel of holes (1 on a missing cell)
MASKED_ATTENTION = -1e9     # attention logit of cells off the board (softmax weight 0)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class MlpNet(BaseFeaturesExtractor):
    """``flat`` observations ``[14N + 4]`` -> ``hidden[-1]`` features through fully connected ReLU layers."""

    def __init__(self, observation_space: gym.spaces.Box, hidden: tuple[int, ...] | list[int] = (256, 256)) -> None:
        hidden = tuple(int(h) for h in hidden)
        super().__init__(observation_space, hidden[-1])
        layers: list[nn.Module] = []
        n_in = int(observation_space.shape[0])
        for h in hidden:
            layers += [nn.Linear(n_in, h), nn.ReLU()]
            n_in = h
        self.net = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


# -- travel-time planes ---------------------------------------------------------------------------------------
# The maze channels of the planes (walls, mud, holes) as small integers: the key of a maze in the cache.
_CODE_CHANNELS = 9
UNREACHABLE = 65535
N_PLAN = 7   # planes added by `MazePlanner`
_STORE_BYTES = 256 * 2**20


def _maze_distances(code: np.ndarray, height: int, width: int) -> np.ndarray:
    """All-pairs travel times ``[N, N]`` uint16 of the maze described by one sample's maze channels.

    ``code`` is ``[9, N]``: walls (1 = blocked) north, east, south, west; mud weights (0 = passage); holes.
    Moves leaving the grid are dropped whatever the planes say, so any input gives a valid graph.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = height * width
    idx = np.arange(n)
    rows, cols = idx // width, idx % width
    src, dst, wts = [], [], []
    for a, (dr, dc) in enumerate(((-1, 0), (0, 1), (1, 0), (0, -1))):
        r, c = rows + dr, cols + dc
        ok = (code[a] == 0) & (r >= 0) & (r < height) & (c >= 0) & (c < width) & (code[8] == 0)
        target = np.where(ok, r * width + c, 0)
        ok &= code[8][target] == 0
        w = np.where(code[4 + a] > 0, code[4 + a], 1)
        src.append(idx[ok])
        dst.append(target[ok])
        wts.append(w[ok])
    graph = csr_matrix((np.concatenate(wts).astype(np.float64), (np.concatenate(src), np.concatenate(dst))),
                       shape=(n, n))
    dist = dijkstra(graph, directed=True)
    return np.where(np.isfinite(dist), np.minimum(dist, UNREACHABLE - 1), UNREACHABLE).astype(np.uint16)


class _DistanceStore:
    """Travel-time tables of recently seen mazes, in one array (slot per maze, least recently used reused).

    Mazes are keyed by a 64-bit hash of their maze channels (random odd multipliers drawn once from a fixed
    seed, summed with wrap-around: different mazes collide with probability about 2**-64).
    """

    def __init__(self, height: int, width: int) -> None:
        n = height * width
        self.height, self.width = height, width
        self.slots = int(max(64, min(8192, _STORE_BYTES // (n * n * 2))))
        self.data = np.zeros((self.slots, n, n), dtype=np.uint16)   # pages are committed as slots fill
        self.index: OrderedDict[int, int] = OrderedDict()
        words = -(-_CODE_CHANNELS * n // 8)
        self.mult = np.random.default_rng(20240611).integers(1, 2**63, size=words, dtype=np.uint64) * 2 + 1

    def hashes(self, codes: np.ndarray) -> np.ndarray:
        """``[B]`` uint64 keys of the mazes described by ``codes`` ``[B, 9, N]`` uint8."""
        flat = codes.reshape(len(codes), -1)
        pad = (-flat.shape[1]) % 8
        if pad:
            flat = np.pad(flat, ((0, 0), (0, pad)))
        return (np.ascontiguousarray(flat).view(np.uint64) * self.mult).sum(axis=1, dtype=np.uint64)

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """The slot of each sample's maze (``codes[i]`` describes sample i's maze), computing new mazes."""
        keys, first, inverse = np.unique(self.hashes(codes), return_index=True, return_inverse=True)
        slots = np.empty(len(keys), dtype=np.int64)
        used: set[int] = set()
        for j, k in enumerate(keys.tolist()):
            slot = self.index.get(k)
            if slot is None:
                victim = None
                if len(self.index) >= self.slots:
                    victim = next((k2 for k2, s2 in self.index.items() if s2 not in used), None)
                if victim is not None:
                    slot = self.index.pop(victim)
                else:
                    slot = len(self.index)
                    if slot >= len(self.data):   # one batch holds more mazes than the store: grow it
                        self.data = np.concatenate([self.data, np.zeros_like(self.data)])
                        self.slots = len(self.data)
                self.data[slot] = _maze_distances(codes[first[j]], self.height, self.width)
                self.index[k] = slot
            else:
                self.index.move_to_end(k)
            used.add(slot)
            slots[j] = slot
        return slots[inverse.reshape(-1)]


_STORES: dict[tuple[int, int], _DistanceStore] = {}
CACHE_MAX_BYTES = 4 * 2**30   # the most `reserve_distance_cache` lets one size's travel-time cache take


def reserve_distance_cache(height: int, width: int, mazes: int, max_bytes: int = CACHE_MAX_BYTES) -> int:
    """Let the travel-time cache of ``height x width`` mazes keep ``mazes`` mazes at once (at most ``max_bytes``).

    The cache holds about 256 MB of tables by default (512 mazes of 25 x 20). Training on a dataset revisits all
    of its mazes every epoch in random order: when they do not fit, every minibatch recomputes the travel times of
    most of its mazes (all pairs, Dijkstra), which then dominates training. The trainer calls this with the
    number of mazes it will see (both views of a symmetric maze count twice). Memory is committed as tables are
    filled. Returns the cache's capacity in mazes.
    """
    h, w = int(height), int(width)
    n = h * w
    want = int(min(int(mazes), max(1, int(max_bytes) // (n * n * 2))))
    store = _STORES.get((h, w))
    if store is None:
        store = _STORES[(h, w)] = _DistanceStore(h, w)
    if store.slots < want:
        extra = np.zeros((want - len(store.data), n, n), dtype=np.uint16)
        store.data = np.concatenate([store.data, extra])
        store.slots = len(store.data)
    return store.slots


class MazePlanner(nn.Module):
    """Travel-time planes computed from ``planes`` observations: no parameters, no gradient.

    A small CNN cannot find fastest paths through a maze of walls and mud; this module computes them and
    hands the network 7 planes (view frame, ``[B, 7, H, W]``): the acting player's and the opponent's travel
    time to every cell (divided by ``scale``, by default ``2 * (H + W)``; 1 when unreachable or beyond), the
    lead ``(t_opp - t_me) / 8``
    clipped to [-1, 1], and for each move (north, east, south, west) a plane that is 1 on the cells a fastest
    path reaches by starting with that move. A player in mud counts from its mud target, after the turns
    left. The all-pairs travel times of each maze (Dijkstra, read from the wall, mud and hole planes, exact
    for mud up to weight 10) are cached per maze, so a forward pass costs a few gathers. The planes have the
    observations' own height and width, whatever the size given to the constructor.
    """

    n_planes = N_PLAN

    def __init__(self, height: int, width: int, scale: float | None = None) -> None:
        super().__init__()
        self.height, self.width = int(height), int(width)
        # travel times are divided by ``scale``: by default ``2 * (H + W)`` of the size given (a fixed-size
        # network's); a network that plays every size gives a fixed scale, so a time means the same on all of them
        self.scale = float(2 * (height + width)) if scale is None else float(scale)

    def _player(self, obs: np.ndarray, ch: int, ch_mud: int) -> tuple[np.ndarray, np.ndarray]:
        """(decision cell, turns until it can decide) per sample: its cell, or its mud target and turns left."""
        b = len(obs)
        cell = obs[:, ch].reshape(b, -1).argmax(axis=1)
        mud = obs[:, ch_mud].reshape(b, -1)
        in_mud = mud.max(axis=1) > 0
        target = mud.argmax(axis=1)
        left = np.rint(mud[np.arange(b), target] * 10).astype(np.int64)
        return np.where(in_mud, target, cell), np.where(in_mud, left, 0)

    @torch.no_grad()
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        from pyrat_env.encoders import CH_OPP, CH_OPP_MUD, CH_SELF_MUD

        x = obs.detach().float().cpu().numpy()
        b, h, w = len(x), x.shape[-2], x.shape[-1]     # the observation's own size (the constructor's, for CnnNet)
        n = h * w
        code = np.rint(x[:, :_CODE_CHANNELS].reshape(b, _CODE_CHANNELS, n) * 10).astype(np.uint8)
        code[:, :4] = code[:, :4] > 0
        store = _STORES.get((h, w))
        if store is None:
            store = _STORES[(h, w)] = _DistanceStore(h, w)
        slot = store.lookup(code)
        table = store.data
        me, me_wait = self._player(x, CH_SELF, CH_SELF_MUD)
        opp, opp_wait = self._player(x, CH_OPP, CH_OPP_MUD)
        has_opp = x[:, CH_OPP].reshape(b, -1).max(axis=1) > 0
        d_me = table[slot, me].astype(np.int32)                              # [B, N]
        d_opp = table[slot, opp].astype(np.int32)
        unreachable_me = d_me >= UNREACHABLE
        unreachable_opp = (d_opp >= UNREACHABLE) | ~has_opp[:, None]
        t_me = np.where(unreachable_me, np.inf, d_me + me_wait[:, None])
        t_opp = np.where(unreachable_opp, np.inf, d_opp + opp_wait[:, None])
        out = np.empty((b, N_PLAN, n), dtype=np.float32)
        out[:, 0] = np.minimum(t_me / self.scale, 1.0)
        out[:, 1] = np.minimum(t_opp / self.scale, 1.0)
        with np.errstate(invalid="ignore"):
            lead = np.clip((t_opp - t_me) / 8.0, -1.0, 1.0)
        out[:, 2] = np.nan_to_num(lead, nan=0.0)          # unreachable by both: no lead
        # first moves of fastest paths, from the decision cell
        rows, cols = me // w, me % w
        for a, (dr, dc) in enumerate(((-1, 0), (0, 1), (1, 0), (0, -1))):
            r, c = rows + dr, cols + dc
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            nb = np.where(inside, r * w + c, me)
            blocked = code[np.arange(b), a, me] > 0
            open_ = inside & ~blocked & (code[np.arange(b), 8, nb] == 0)
            cost = np.where(code[np.arange(b), 4 + a, me] > 0, code[np.arange(b), 4 + a, me], 1).astype(np.int32)
            via = table[slot, nb].astype(np.int32) + cost[:, None]
            out[:, 3 + a] = (open_[:, None] & (via == d_me) & ~unreachable_me).astype(np.float32)
        return torch.from_numpy(out.reshape(b, N_PLAN, h, w)).to(obs.device)


class CnnNet(BaseFeaturesExtractor):
    """``planes`` observations ``[18, H, W]`` -> ``hidden`` features (see the module docstring).

    ``channels``: the stem's, then the two stride-2 layers' output channels. With ``plan=True`` (the
    default) the 7 travel-time planes of `MazePlanner` join the 14 cell planes at the input, and
    ``readout`` attention maps (1x1 convolutions of the stem, softmax over the cells) read the move planes:
    for each map and move, the attention mass on cells that move leads to fastest, so the network can say
    "go towards these cells" and get the move. Convolutions run on channels-last tensors (oneDNN's fast
    layout on CPU; the same numbers). ``bf16=True`` runs the convolutions and the last layer under bfloat16
    autocast (faster on CPUs with bf16 units, less precise); features come out as float32 either way.
    """

    def __init__(self, observation_space: gym.spaces.Box, channels: tuple[int, ...] | list[int] = (16, 32, 32),
                 hidden: int = 128, plan: bool = True, readout: int = 4, bf16: bool = False) -> None:
        super().__init__(observation_space, int(hidden))
        c_in, h, w = (int(x) for x in observation_space.shape)
        if c_in != N_CELL + N_GLOBAL:
            raise ValueError(f"CnnNet expects {N_CELL + N_GLOBAL} planes, got {c_in}")
        c1, c2, c3 = (int(c) for c in channels)
        self.bf16 = bool(bf16)
        self.planner = MazePlanner(h, w) if plan else None
        self.readout = int(readout) if plan else 0
        self.stem = nn.Conv2d(N_CELL + (N_PLAN if plan else 0), c1, 3, padding=1)
        self.body = nn.Sequential(
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c3, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.attend = nn.Conv2d(c1, self.readout, 1) if self.readout else None
        if self.readout:
            # Direct terms of the attention logits, per map: weights on my travel time (turns), my lead over the
            # opponent (turns, within +-8) and cheese. Initialised so that the maps start out pointing at the
            # nearest cheese, the nearest one I reach first..., which the convolutions then refine.
            base = torch.tensor([[-1.0, 0.0, 10.0], [-1.0, 1.0, 10.0], [-0.3, 1.0, 10.0], [-1.0, 0.0, 3.0]])
            self.prior = nn.Parameter(base[torch.arange(self.readout) % len(base)].clone())
        h4, w4 = math.ceil(math.ceil(h / 2) / 2), math.ceil(math.ceil(w / 2) / 2)
        n_head = c3 * h4 * w4 + c1 + N_GLOBAL + 4 * self.readout
        self.head = nn.Sequential(nn.Linear(n_head, int(hidden)), nn.ReLU())

    def _features(self, obs: torch.Tensor, plan: torch.Tensor | None) -> torch.Tensor:
        cells = obs[:, :N_CELL]
        if plan is not None:
            cells = torch.cat([cells, plan], dim=1)
        cells = cells.contiguous(memory_format=torch.channels_last)
        glob = obs[:, N_CELL:, 0, 0]
        x = torch.relu(self.stem(cells))
        me = (x * obs[:, CH_SELF:CH_SELF + 1]).sum(dim=(2, 3))   # stem features at the acting player's cell
        z = self.body(x)
        parts = [z, me.to(z.dtype), glob.to(z.dtype)]
        if self.attend is not None and plan is not None:
            direct = torch.stack([plan[:, 0] * self.planner.scale, plan[:, 2] * 8.0, obs[:, CH_CHEESE]], dim=1)
            logits = self.attend(x).flatten(2).float() + torch.einsum("rk,bkn->brn", self.prior, direct.flatten(2))
            att = torch.softmax(logits, dim=2)                                     # [B, R, N]
            moves = plan[:, N_PLAN - 4:].flatten(2)                              # [B, 4, N]
            mass = torch.bmm(att, moves.transpose(1, 2)).flatten(1)                # [B, R * 4] in [0, 1]
            parts.append(torch.log(mass + 1e-3).to(z.dtype))   # log scale: linear in the attention logits
        return self.head(torch.cat(parts, dim=1))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.forward_with_plan(obs, self.planner(obs) if self.planner is not None else None)

    def forward_with_plan(self, obs: torch.Tensor, plan: torch.Tensor | None) -> torch.Tensor:
        """The features given the planner's planes (computed elsewhere: ONNX export and runtimes)."""
        if self.bf16:
            with torch.autocast(device_type=obs.device.type, dtype=torch.bfloat16):
                return self._features(obs, plan).float()
        return self._features(obs, plan)


class FcnNet(BaseFeaturesExtractor):
    """``planes`` observations ``[18, H, W]`` of *any* size -> ``hidden`` features: a fully convolutional network.

    The same weights play every maze size: nothing in it depends on ``H`` or ``W``. Input: the 14 cell planes
    and the 7 travel-time planes of `MazePlanner` (``plan=True``; with a fixed ``plan_scale``, so a travel time
    means the same on every size), all multiplied by the *board* plane ``m`` (1 on existing cells, 0 on holes),
    which joins them. A 3x3 stem, then one residual 3x3 layer per entry of ``dilations`` (dilated: a few layers
    see far), every layer padded with zeros and its output multiplied by ``m``. Read-outs that do not depend on
    the size: the features at the acting player's cell, their mean and maximum over the existing cells, the
    ``readout`` attention maps of `CnnNet` (softmax over the existing cells, reading the move planes), and the
    4 global features; one fully connected layer makes ``hidden`` features of them.

    ``history=2``: the observation has 2 more planes after the 18 (`history_planes`): where the acting player and
    the opponent were at the acting player's previous decision (its current cells at its first), which the stem
    reads with the cell planes. A network without history sees one position; the experts it imitates are not
    functions of it (``search`` keeps its target), and the players' last moves tell where each was heading.

    Zeroing holes after every layer makes holes and the outside of the grid the same thing: an observation
    padded on the bottom and right with hole cells (``pad_planes``) gives the same features as the
    observation itself, up to float rounding. That is how PPO trains it on several sizes at once (every game
    padded to the largest) while a game is played at its own size.
    """

    size_free = True

    def __init__(self, observation_space: gym.spaces.Box, channels: int = 32,
                 dilations: tuple[int, ...] | list[int] = (1, 2, 4, 1), hidden: int = 128, plan: bool = True,
                 readout: int = 4, plan_scale: float = 100.0, history: int = 0) -> None:
        super().__init__(observation_space, int(hidden))
        c_in = int(observation_space.shape[0])
        if history not in HISTORY_CHOICES:
            raise ValueError(f"FcnNet: history must be one of {HISTORY_CHOICES} planes, got {history!r}")
        self.history = int(history)
        if c_in != N_CELL + N_GLOBAL + self.history:
            raise ValueError(f"FcnNet expects {N_CELL + N_GLOBAL + self.history} planes "
                             f"({self.history} of them history planes), got {c_in}")
        c = int(channels)
        self.planner = MazePlanner(1, 1, scale=float(plan_scale)) if plan else None
        self.readout = int(readout) if plan else 0
        self.stem = nn.Conv2d(N_CELL + 1 + self.history + (N_PLAN if plan else 0), c, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(c, c, 3, padding=int(d), dilation=int(d)) for d in dilations)
        self.attend = nn.Conv2d(c, self.readout, 1) if self.readout else None
        if self.readout:
            # the direct terms of `CnnNet`'s attention (travel time, lead, cheese), with its initial weights
            base = torch.tensor([[-1.0, 0.0, 10.0], [-1.0, 1.0, 10.0], [-0.3, 1.0, 10.0], [-1.0, 0.0, 3.0]])
            self.prior = nn.Parameter(base[torch.arange(self.readout) % len(base)].clone())
        self.head = nn.Sequential(nn.Linear(3 * c + N_GLOBAL + 4 * self.readout, int(hidden)), nn.ReLU())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.forward_with_plan(obs, self.planner(obs) if self.planner is not None else None)

    def forward_with_plan(self, obs: torch.Tensor, plan: torch.Tensor | None) -> torch.Tensor:
        """The features given the planner's planes (computed elsewhere: ONNX export and runtimes)."""
        board = 1.0 - obs[:, CH_HOLE:CH_HOLE + 1]                               # [B, 1, H, W]
        parts = [obs[:, :N_CELL], board] + ([obs[:, N_CELL + N_GLOBAL:]] if self.history else []) + \
            ([plan] if plan is not None else [])
        x = torch.relu(self.stem(torch.cat(parts, dim=1) * board)) * board
        for conv in self.blocks:
            x = x + torch.relu(conv(x)) * board
        cells = board.sum(dim=(2, 3))                                           # [B, 1]
        me = (x * obs[:, CH_SELF:CH_SELF + 1]).sum(dim=(2, 3))
        mean = x.sum(dim=(2, 3)) / cells.clamp(min=1.0)
        top = x.amax(dim=(2, 3))               # features are >= 0 and 0 off the board: the maximum over the board
        feats = [me, mean, top, obs[:, N_CELL:N_CELL + N_GLOBAL, 0, 0]]
        if self.attend is not None and plan is not None:
            direct = torch.stack([plan[:, 0] * self.planner.scale, plan[:, 2] * 8.0, obs[:, CH_CHEESE]], dim=1)
            logits = self.attend(x).flatten(2) + torch.einsum("rk,bkn->brn", self.prior, direct.flatten(2))
            logits = logits.masked_fill(board.flatten(2) == 0, MASKED_ATTENTION)   # holes and padding: no weight
            att = torch.softmax(logits, dim=2)                                    # [B, R, H * W]
            moves = plan[:, N_PLAN - 4:].flatten(2)                               # [B, 4, H * W]
            mass = torch.bmm(att, moves.transpose(1, 2)).flatten(1)                # [B, R * 4] in [0, 1]
            feats.append(torch.log(mass + 1e-3))
        return self.head(torch.cat(feats, dim=1))


def pad_planes(obs: np.ndarray, height: int, width: int) -> np.ndarray:
    """``planes`` observations ``[..., 18, h, w]`` padded to ``height`` x ``width`` with hole cells (bottom, right).

    A padding cell is what a hole is in the encoding (walls on every side, the hole channel set); the global
    planes are extended with their value. `FcnNet` gives padded and unpadded observations the same features.
    """
    h, w = obs.shape[-2:]
    if (h, w) == (height, width):
        return obs
    if h > height or w > width:
        raise ValueError(f"cannot pad {w}x{h} planes to {width}x{height}")
    out = np.zeros(obs.shape[:-2] + (height, width), dtype=obs.dtype)
    out[..., :4, :, :] = 1.0
    out[..., CH_HOLE, :, :] = 1.0
    out[..., N_CELL:, :, :] = obs[..., N_CELL:, :1, :1]
    out[..., :h, :w] = obs
    return out


class TransformerNet(BaseFeaturesExtractor):
    """``tokens`` observations ``[N, 20]`` -> ``2 * d_model + 4`` features by self-attention over the cells.

    Cells are grouped in ``patch`` x ``patch`` squares (default 2: 56 tokens on the official 15 x 13 grid
    instead of 195; attention costs the square of the token count: end-to-end PPO on a 2-core CPU went
    from 49 to 507 steps/s, see ``pyrat bench --train``; ``patch=1`` attends over single cells). A token
    is its cells' 14 channels and positions
    (cells past the grid's edge count as holes) with Fourier features of the patch centre: sines and
    cosines of ``k * pi * row`` and ``k * pi * col`` for k = 1..``n_freq``, rows and columns scaled to
    [0, 1] as in the tokens; it is embedded linearly and ``layers`` pre-norm encoder layers (``heads``
    heads, feed-forward ``ff``) follow. Features: the mean token, the token holding the acting player
    (read through the ``self`` channel) and the 4 globals. The grid's width is read from the tokens' own
    positions at the first call.
    """

    def __init__(self, observation_space: gym.spaces.Box, d_model: int = 48, heads: int = 2, layers: int = 2,
                 ff: int = 96, patch: int = 2, n_freq: int = 6) -> None:
        _, f = (int(x) for x in observation_space.shape)
        super().__init__(observation_space, 2 * int(d_model) + N_GLOBAL)
        if f != N_CELL + 2 + N_GLOBAL:
            raise ValueError(f"TransformerNet expects {N_CELL + 2 + N_GLOBAL} token features, got {f}")
        self.patch = int(patch)
        self.register_buffer("freqs", math.pi * torch.arange(1, int(n_freq) + 1, dtype=torch.float32),
                             persistent=False)
        self.embed = nn.Linear(self.patch ** 2 * (N_CELL + 2) + 4 * int(n_freq), int(d_model))
        layer = nn.TransformerEncoderLayer(int(d_model), int(heads), int(ff), dropout=0.0, batch_first=True,
                                           norm_first=True, activation="relu")
        self.encoder = nn.TransformerEncoder(layer, int(layers), enable_nested_tensor=False)
        self.norm = nn.LayerNorm(int(d_model))
        self._geometry: tuple | None = None

    def _grid(self, obs: torch.Tensor) -> tuple:
        """(height, width, padded height, padded width, padding mask [Hp, Wp], patch centres [T, 2]), cached."""
        if self._geometry is None:
            n = obs.shape[1]
            rows = obs[0, :, N_CELL]
            w = int((rows == rows[0]).sum().item()) if n > 1 else 1
            w = w if n % w == 0 else n
            h = n // w
            p = self.patch
            hp, wp = -(-h // p) * p, -(-w // p) * p
            pad = torch.ones(hp, wp)
            pad[:h, :w] = 0.0
            r = (torch.arange(0, hp, p, dtype=torch.float32) + (p - 1) / 2) / max(h - 1, 1)
            c = (torch.arange(0, wp, p, dtype=torch.float32) + (p - 1) / 2) / max(w - 1, 1)
            centres = torch.stack(torch.meshgrid(r, c, indexing="ij"), dim=-1).reshape(-1, 2)
            self._geometry = (h, w, hp, wp, pad, centres)
        return self._geometry

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h, w, hp, wp, pad, centres = self._grid(obs)
        b, p, f = obs.shape[0], self.patch, N_CELL + 2
        glob = obs[:, 0, N_CELL + 2:]
        x = obs[..., :f].reshape(b, h, w, f)
        if (hp, wp) != (h, w):
            x = nn.functional.pad(x, (0, 0, 0, wp - w, 0, hp - h))
            hole = x[..., 8] + pad.to(x.device)                              # cells past the edge are holes
            x = torch.cat([x[..., :8], hole[..., None], x[..., 9:]], dim=-1)
        tokens = x.reshape(b, hp // p, p, wp // p, p, f).permute(0, 1, 3, 2, 4, 5).reshape(b, -1, p * p * f)
        angles = centres.to(obs.device)[..., None] * self.freqs              # [T, 2, F]
        pos = torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(1).expand(b, -1, -1)
        z = self.norm(self.encoder(self.embed(torch.cat([tokens, pos], dim=-1))))
        me = x[..., CH_SELF].reshape(b, hp // p, p, wp // p, p).sum(dim=(2, 4)).reshape(b, -1, 1)
        return torch.cat([z.mean(dim=1), (z * me).sum(dim=1), glob], dim=1)


# -- classifiers: observation -> 5 action logits, trained on an expert's moves (the course notebooks) ---------
class LinearPolicyNet(nn.Module):
    """Multinomial logistic regression: one weight per (input feature, action), then softmax."""

    def __init__(self, obs_shape: Sequence[int]) -> None:
        super().__init__()
        self.linear = nn.Linear(int(math.prod(obs_shape)), 5)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.linear(obs.flatten(1))


class MlpPolicyNet(nn.Module):
    """Fully connected layers: ``Linear -> [BatchNorm] -> ReLU -> [Dropout]`` per hidden size, then 5 logits."""

    def __init__(self, obs_shape: Sequence[int], hidden: Sequence[int] = (256, 256), dropout: float = 0.0,
                 batchnorm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        n_in = int(math.prod(obs_shape))
        for h in hidden:
            layers.append(nn.Linear(n_in, int(h)))
            if batchnorm:
                layers.append(nn.BatchNorm1d(int(h)))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            n_in = int(h)
        layers.append(nn.Linear(n_in, 5))
        self.net = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class ConvPolicyNet(nn.Module):
    """Convolutions over the maze at full resolution, read where the player stands.

    ``planes`` observations ``[18, H, W]``: the 14 cell planes go through ``layers`` padded 3x3 convolutions
    (``channels`` each, optional batch norm and dropout): the same small filters slide over every cell,
    so a wall pattern is recognised wherever it is. The last feature map is read at the acting player's
    cell (through the ``self`` plane) and max-pooled over the maze; with the 4 global features (scores,
    cheese left, turn) they feed a small head that gives 5 logits. A cell's feature sees ``2 * layers + 1``
    cells across (its receptive field); the pooled features see the whole maze.
    """

    size_free = True   # convolutions, a read-out at the player's cell and a maximum: nothing depends on H, W

    def __init__(self, obs_shape: Sequence[int], channels: int = 32, layers: int = 5, hidden: int = 64,
                 dropout: float = 0.0, batchnorm: bool = False) -> None:
        super().__init__()
        if int(obs_shape[0]) != N_CELL + N_GLOBAL:
            raise ValueError(f"ConvPolicyNet reads {N_CELL + N_GLOBAL} planes, got {obs_shape[0]}")
        convs: list[nn.Module] = []
        c_in = N_CELL
        for _ in range(int(layers)):
            convs.append(nn.Conv2d(c_in, int(channels), 3, padding=1))
            if batchnorm:
                convs.append(nn.BatchNorm2d(int(channels)))
            convs.append(nn.ReLU())
            c_in = int(channels)
        self.convs = nn.Sequential(*convs)
        head: list[nn.Module] = [nn.Linear(2 * c_in + N_GLOBAL, int(hidden)), nn.ReLU()]
        if dropout > 0:
            head.append(nn.Dropout(float(dropout)))
        head.append(nn.Linear(int(hidden), 5))
        self.head = nn.Sequential(*head)

    @property
    def first_layer(self) -> nn.Conv2d:
        return self.convs[0]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = self.convs(obs[:, :N_CELL])
        me = (x * obs[:, CH_SELF:CH_SELF + 1]).sum(dim=(2, 3))
        pooled = x.amax(dim=(2, 3))
        glob = obs[:, N_CELL:, 0, 0]
        return self.head(torch.cat([me, pooled, glob], dim=1))


class AttentionBlock(nn.Module):
    """A pre-norm transformer layer: multi-head self-attention, then a feed-forward network, each residual.

    Attention weights are ``softmax(Q K^T / sqrt(d_head))`` over the T tokens, per head; each token's output
    is the weighted mean of the values ``V``. With ``record = True`` that is computed as written and the
    weights ``[B, heads, T, T]`` stay in ``attention``; otherwise torch's fused
    ``scaled_dot_product_attention`` computes the same thing faster.
    """

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
        self.heads, self.d_head = int(heads), int(d_model) // int(heads)
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff), nn.ReLU(), nn.Linear(ff, d_model))
        self.drop = nn.Dropout(float(dropout))
        self.record = False
        self.attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, self.d_head).permute(2, 0, 3, 1, 4)
        if self.record:
            weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.d_head), dim=-1)   # [B, heads, T, T]
            self.attention = weights.detach()
            mixed = self.drop(weights) @ v
        else:       # the same computation, fused by torch (faster, and it never stores the T x T weights)
            mixed = F.scaled_dot_product_attention(q, k, v, dropout_p=self.drop.p if self.training else 0.0)
        mixed = mixed.transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.out(mixed))
        return x + self.drop(self.ff(self.norm2(x)))


class TransformerPolicyNet(nn.Module):
    """Self-attention over the cells of the maze: one token per cell, plus one token for the game.

    ``tokens`` observations ``[N, 20]``: a cell's 14 channels are embedded linearly (its *content*); its
    position (row and column, and sines and cosines of them at ``n_freq`` frequencies) is embedded and
    added, unless ``positions=False`` (then the cells form a set: attention alone cannot tell where a cell
    is). A first token carries the 4 global features. ``layers`` `AttentionBlock` s follow; the logits come
    from the game token and the acting player's cell token. ``tokens(obs, cell_mask)`` gives every output
    token; cells where ``cell_mask`` is True get a learned *mask* embedding instead of their content (the
    masked-cell pretext task of `pyrat_rl.train.pretext`).
    """

    size_free = True   # one token per cell, positions scaled to [0, 1]: any number of cells

    def __init__(self, obs_shape: Sequence[int], d_model: int = 32, heads: int = 4, layers: int = 2, ff: int = 64,
                 dropout: float = 0.0, positions: bool = True, n_freq: int = 4) -> None:
        super().__init__()
        if int(obs_shape[-1]) != N_CELL + 2 + N_GLOBAL:
            raise ValueError(f"TransformerPolicyNet reads tokens of {N_CELL + 2 + N_GLOBAL} features, got {obs_shape}")
        self.d_model, self.positions = int(d_model), bool(positions)
        self.register_buffer("freqs", math.pi * torch.arange(1, int(n_freq) + 1, dtype=torch.float32),
                             persistent=False)
        self.content = nn.Linear(N_CELL, self.d_model)
        self.position = nn.Linear(2 + 4 * int(n_freq), self.d_model)
        self.game = nn.Linear(N_GLOBAL, self.d_model)
        self.mask_token = nn.Parameter(torch.zeros(self.d_model))
        self.blocks = nn.ModuleList(AttentionBlock(self.d_model, heads, ff, dropout) for _ in range(int(layers)))
        self.norm = nn.LayerNorm(self.d_model)
        self.head = nn.Linear(2 * self.d_model, 5)

    def embed(self, obs: torch.Tensor, cell_mask: torch.Tensor | None = None) -> torch.Tensor:
        content = self.content(obs[..., :N_CELL])
        if cell_mask is not None:
            content = torch.where(cell_mask[..., None], self.mask_token.expand_as(content), content)
        x = content
        if self.positions:
            rc = obs[..., N_CELL:N_CELL + 2]
            angles = rc[..., None] * self.freqs
            pos = torch.cat([rc, angles.sin().flatten(2), angles.cos().flatten(2)], dim=-1)
            x = x + self.position(pos)
        game = self.game(obs[:, :1, N_CELL + 2:])
        return torch.cat([game, x], dim=1)

    def tokens(self, obs: torch.Tensor, cell_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Output tokens ``[B, N + 1, d_model]``: the game token first, then the cells in index order."""
        x = self.embed(obs, cell_mask)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = self.tokens(obs)
        me = (x[:, 1:] * obs[..., CH_SELF:CH_SELF + 1]).sum(dim=1)
        return self.head(torch.cat([x[:, 0], me], dim=1))


# kind -> (class, encoder); a classifier's options are its class's keyword arguments
CLASSIFIERS: dict[str, tuple[type[nn.Module], str]] = {
    "linear": (LinearPolicyNet, "flat"),
    "mlp": (MlpPolicyNet, "flat"),
    "cnn": (ConvPolicyNet, "planes"),
    "transformer": (TransformerPolicyNet, "tokens"),
}


def classifier_size_free(kind: str) -> bool:
    """Whether classifier ``kind`` reads mazes of any size (``cnn``, ``transformer``; not ``linear``, ``mlp``)."""
    return bool(getattr(_classifier_entry(kind)[0], "size_free", False))


def classifier_encoder(kind: str) -> str:
    """The encoder a classifier reads (``linear`` and ``mlp`` -> ``flat``, ``cnn`` -> ``planes``...)."""
    return _classifier_entry(kind)[1]


def _classifier_entry(kind: str) -> tuple[type[nn.Module], str]:
    try:
        return CLASSIFIERS[kind]
    except KeyError:
        raise ValueError(f"unknown classifier {kind!r}; choose one of {', '.join(CLASSIFIERS)}") from None


def make_classifier(kind: str, obs_shape: Sequence[int], seed: int | None = None, **kwargs) -> nn.Module:
    """A fresh classifier ``kind`` for observations of ``obs_shape`` (``seed``: seeds torch's generator first).

    The model gets ``spec`` (kind, observation shape, options as plain JSON values: enough to rebuild it)
    and ``encoder_name``.
    """
    cls, encoder_name = _classifier_entry(kind)
    shape = tuple(int(s) for s in obs_shape)
    if seed is not None:
        torch.manual_seed(seed)
    model = cls(shape, **kwargs)
    model.spec = {"kind": kind, "obs_shape": list(shape),
                  "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}}
    model.encoder_name = encoder_name
    return model


# -- actor-critic feature extractors by name ----------------------------------------------------------------
# name -> (class, encoder, default kwargs, default net_arch for the policy / value heads)
NETWORKS: dict[str, tuple[type[BaseFeaturesExtractor], str, dict[str, Any], dict[str, list[int]]]] = {
    "mlp": (MlpNet, "flat", {"hidden": [256, 256]}, {"pi": [64], "vf": [64]}),
    "cnn": (CnnNet, "planes", {"channels": [16, 32, 32], "hidden": 128, "plan": True, "readout": 4},
            {"pi": [64], "vf": [64]}),
    "transformer": (TransformerNet, "tokens", {"d_model": 48, "heads": 2, "layers": 2, "ff": 96, "patch": 2},
                    {"pi": [64], "vf": [64]}),
    "fcn": (FcnNet, "planes", {"channels": 32, "dilations": [1, 2, 4, 1], "hidden": 128, "plan": True,
                               "readout": 4, "plan_scale": 100.0}, {"pi": [64], "vf": [64]}),
}


HISTORY_CHOICES = (0, 2)   # history planes an fcn network may read: none, or both players' previous cells


def history_planes(name: str, net_kwargs: dict | None = None) -> int:
    """How many history planes follow the encoder's planes in network ``name``'s observations (`FcnNet`)."""
    return int(net_kwargs_for(name, net_kwargs).get("history", 0) or 0)


def network_names() -> list[str]:
    return list(NETWORKS)


def size_free(name: str) -> bool:
    """Whether network ``name`` plays every maze size with the same weights (``fcn``); the others play one size."""
    return bool(getattr(_entry(name)[0], "size_free", False))


def encoder_for(name: str) -> str:
    """The encoder a network reads (``mlp`` -> ``flat``, ``cnn`` -> ``planes``, ``transformer`` -> ``tokens``)."""
    return _entry(name)[1]


def _entry(name: str):
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown policy network {name!r}; choose one of {', '.join(NETWORKS)}") from None


def net_kwargs_for(name: str, overrides: dict | None = None) -> dict:
    """The network's keyword options: its defaults updated with ``overrides`` (JSON-friendly values)."""
    kwargs = dict(_entry(name)[2])
    kwargs.update(overrides or {})
    return kwargs


def policy_kwargs(name: str, net_kwargs: dict | None = None, net_arch: dict | None = None) -> dict:
    """``policy_kwargs`` for an SB3 actor-critic policy using network ``name`` (shared extractor, ReLU heads)."""
    cls, _, _, arch = _entry(name)
    return {
        "features_extractor_class": cls,
        "features_extractor_kwargs": net_kwargs_for(name, net_kwargs),
        "net_arch": dict(net_arch or arch),
        "activation_fn": nn.ReLU,
        "share_features_extractor": True,
    }


def make_extractor(name: str, observation_space: gym.spaces.Box, net_kwargs: dict | None = None) -> nn.Module:
    """A feature extractor by name, for an observation space."""
    cls = _entry(name)[0]
    return cls(observation_space, **net_kwargs_for(name, net_kwargs))


def describe(policy: nn.Module, name: str = "") -> str:
    """One line: the network's name and parameter counts (features extractor, whole policy)."""
    ext = getattr(policy, "features_extractor", None)
    n_ext = count_parameters(ext) if ext is not None else 0
    label = name or (type(ext).__name__ if ext is not None else type(policy).__name__)
    return f"{label}: {n_ext:,} parameters in the features extractor, {count_parameters(policy):,} in the policy"


def main(preset: str = "official") -> None:
    """Print every network's parameter count on a preset's observations (``python -m pyrat_rl.agents.networks``)."""
    from gymnasium import spaces
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

    from pyrat_env.encoders import make_encoder
    from pyrat_env.mazes import preset as get_preset

    cfg = get_preset(preset)
    for name in NETWORKS:
        space = make_encoder(encoder_for(name)).space(cfg.width, cfg.height)
        policy = MaskableActorCriticPolicy(space, spaces.Discrete(5), lambda _: 0.0, **policy_kwargs(name))
        print(describe(policy, f"{name} ({encoder_for(name)} {tuple(space.shape)})"))


if __name__ == "__main__":
    main()
