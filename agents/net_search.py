"""A learned network guiding the ``search`` expert's lookahead (`NetSearchAgent`).

`pyrat_rl.agents.scripted.SearchAgent` tries a few target cheese for itself and a few for its opponent,
plays the rest of the game out with fast greedy rollouts for every pair, and values each of its targets by a
mix of the outcome against the opponent's *most likely* target and the worst outcome. Left to itself it takes
the opponent's nearest cheese as the most likely (what a greedy player does). `NetSearchAgent` keeps that
machinery and adds what a policy network knows:

* **an opponent model**: the network, shown the game from the opponent's seat, predicts the opponent's next
  move; the nearest cheese that move heads for becomes the opponent's most likely target (and a candidate);
* **a candidate and a prior for itself**: the nearest cheese its own preferred move heads for is tried first,
  and every target's value gets ``prior`` times the log-probability of the move that starts a fastest path to
  it (``prior = 0``: no prior).

One network call a turn (both seats in one batch of two), then the rollouts within the same share of the turn
time as ``search``. The ablation is built in: ``search`` is the same search without the network, and the
network alone is the plain checkpoint. A checkpoint whose metadata has ``"lookahead": {"kind": "search", ...}``
(``pyrat train export ... --lookahead search``) loads as this agent (`pyrat_rl.agents.policy_agent.load_agent`).
"""

from __future__ import annotations

import math

import numpy as np

from pyrat_env.agent import Agent, GameContext
from pyrat_env.engine import Game

from .scripted import SearchAgent, maze_tables

LOOKAHEADS = ("search",)
DEFAULT_PRIOR = 0.25


class NetSearchAgent(SearchAgent):
    """``search`` with a policy network as opponent model and prior (module docstring).

    ``net``: a `pyrat_rl.agents.policy_agent.PolicyAgent` (its maze sizes are this agent's); ``prior``: weight of
    the network's log-probability of a target's first move, in points; ``opponent_model``: use the network's
    prediction of the opponent's move (False: the nearest cheese, as ``search``); ``likely_weight``: the weight of
    the outcome against the opponent's most likely target in a target's value, the rest going to the worst outcome
    (default: ``search``'s 0.5).
    """

    kind = "neural"

    def __init__(self, net, prior: float = DEFAULT_PRIOR, opponent_model: bool = True,
                 likely_weight: float | None = None, name: str | None = None, description: str = "") -> None:
        super().__init__()
        if not (isinstance(prior, (int, float)) and math.isfinite(prior) and prior >= 0):
            raise ValueError(f"net search: prior must be a finite number >= 0, got {prior!r}")
        if likely_weight is not None:
            if not (isinstance(likely_weight, (int, float)) and 0 <= likely_weight <= 1):
                raise ValueError(f"net search: likely_weight must be between 0 and 1, got {likely_weight!r}")
            self.greedy_weight = float(likely_weight)   # weight of the outcome against the most likely reply
        self.net = net
        self.prior = float(prior)
        self.opponent_model = bool(opponent_model)
        self.name = name or f"{net.name}+search"
        self.description = description or f"search guided by the network {net.name}"
        self.meta = net.meta
        self.sizes = net.sizes
        self._logp: dict[int, float] = {}

    def check_size(self, width: int, height: int) -> None:
        self.net.check_size(width, height)

    def start(self, ctx: GameContext) -> None:
        self.net.start(ctx)   # refuses a size the network cannot play, first; warms the network
        super().start(ctx)

    def act(self, game: Game, seat: int) -> int:
        self._logp = {}
        action = super().act(game, seat)
        self.net.remember(game, list(range(game.n_players)))   # a network with history planes sees the last turns
        return action

    def move_probabilities(self, game: Game, seat: int, seats: list[int]) -> np.ndarray:
        """``[len(seats), 5]``: the network's probabilities of each real move for those seats (``seat``: ours)."""
        return self.net.move_probabilities(game, seats)

    @staticmethod
    def _heading(next_row: list[int], dist_row: list[int], cheese, action: int) -> int | None:
        """The nearest cheese whose fastest path starts with ``action`` (lowest cell on ties), or None."""
        best = None
        for c in cheese:
            if next_row[c] == action and (best is None or (dist_row[c], c) < (dist_row[best], best)):
                best = c
        return best

    # -- hooks of SearchAgent --------------------------------------------------------------------------------
    def candidates(self, game: Game, seat: int, opp: int, ready_cells: list[int], mine: list[int],
                   theirs: list[int]) -> tuple[list[int], list[int]]:
        tables = maze_tables(game.maze)
        cheese = game.cheese
        me = game.pos[seat]
        opp_free = game.mud_target[opp] is None
        seats = [seat, opp] if self.opponent_model and opp_free else [seat]
        probs = self.move_probabilities(game, seat, seats)
        mine = list(mine)
        with np.errstate(divide="ignore"):
            logp = np.log(probs[0])
        nxt, dist = tables.next_action[me], tables.dist[me]
        self._logp = {c: float(logp[nxt[c]]) for c in set(mine) | set(cheese)}
        pick = self._heading(nxt, dist, cheese, int(np.argmax(probs[0])))
        if pick is not None and pick not in mine:
            mine.insert(1 if mine and mine[0] == self._target else 0, pick)
        if len(seats) == 2:
            oc = ready_cells[opp]
            likely = self._heading(tables.next_action[oc], tables.dist[oc], cheese, int(np.argmax(probs[1])))
            if likely is not None:
                theirs = [likely] + [c for c in theirs if c != likely]
        return mine, theirs

    def bonus(self, target: int) -> float:
        if not self.prior:
            return 0.0
        lp = self._logp.get(target)
        if lp is None:
            return 0.0
        return self.prior * max(lp, -20.0)


def lookahead_agent(net, options: dict) -> Agent:
    """The agent of a checkpoint whose metadata asks for a lookahead (``{"kind": "search", "prior": ...}``)."""
    if not isinstance(options, dict) or options.get("kind") not in LOOKAHEADS:
        raise ValueError(f"checkpoint {net.name}: unknown lookahead {options!r} (known: {', '.join(LOOKAHEADS)})")
    kw = {k: options[k] for k in ("prior", "opponent_model", "likely_weight") if k in options}
    return NetSearchAgent(net, name=net.name, description=net.description, **kw)
