"""A network guiding the search expert (pyrat_rl.agents.net_search): the ablations, sizes, export and loading."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pyrat_rl.agents.match import play_series  # noqa: E402
from pyrat_rl.agents.net_search import NetSearchAgent  # noqa: E402
from pyrat_rl.agents.policy_agent import (  # noqa: E402
    PolicyAgent,
    build_policy,
    export_checkpoint,
    load_agent,
    make_meta,
    save_policy,
)
from pyrat_rl.agents.scripted import SearchAgent  # noqa: E402

from pyrat_env.agent import AgentRefusal, GameContext  # noqa: E402
from pyrat_env.encoders import action_mask  # noqa: E402
from pyrat_env.mazes import new_game, preset  # noqa: E402

SMALL_FCN = {"channels": 8, "dilations": [1, 2], "hidden": 16}


def _fcn(tmp_path, seed=0, name="fcn"):
    torch.manual_seed(seed)
    meta = make_meta("fcn", SMALL_FCN, {"pi": [16], "vf": [16]}, "planes", {"horizon": 780}, preset("official"))
    policy = build_policy(meta)
    with torch.no_grad():
        policy.action_net.weight.mul_(50.0)   # clear-cut choices
    return save_policy(tmp_path / f"{name}.pt", policy, meta)


def _ctx(setup, seat):
    return GameContext(maze=setup.maze, seat=seat, n_players=2, cheese=tuple(setup.cheese),
                       starts=tuple(setup.starts), rng=np.random.default_rng(0), game=setup.game())


def _play(agents, setup, turns=400):
    """Both seats' moves, turn by turn, of one game without time limits."""
    game = setup.game()
    for seat, a in enumerate(agents):
        a.start(_ctx(setup, seat))
    moves = []
    while not game.over and game.turn < turns:
        acts = [a.act(game.copy(), s) for s, a in enumerate(agents)]
        moves.append(tuple(acts))
        game.step(acts)
    return moves, list(game.scores)


class _Uniform(NetSearchAgent):
    """A network with no opinion: every legal move equally likely."""

    def move_probabilities(self, game, seat, seats):
        return np.full((len(seats), 5), 0.2)


def test_a_network_with_no_opinion_leaves_search_unchanged(tmp_path):
    # uniform move probabilities: no preferred move heads for a cheese, the opponent model falls back to the
    # nearest cheese and the prior adds the same to every target, so every move is the search expert's own
    net = load_agent(_fcn(tmp_path))
    for preset_name, seed in (("official", 3), ("tiny", 1), ("classic", 2)):
        setup = new_game(preset_name, seed)
        ref = _play([SearchAgent(), SearchAgent()], setup)
        guided = _play([_Uniform(net, prior=1.0), SearchAgent()], setup)
        assert guided == ref, preset_name


def test_the_network_changes_the_search(tmp_path):
    # a real (random) network: its preferred moves and its opponent model make other choices on some mazes
    net = load_agent(_fcn(tmp_path, seed=3))
    differ = 0
    for seed in range(6):
        setup = new_game("official", seed)
        ref = _play([SearchAgent(), SearchAgent()], setup)
        guided = _play([NetSearchAgent(net, prior=2.0), SearchAgent()], setup)
        differ += guided[0] != ref[0]
    assert differ >= 1


def test_move_probabilities_are_real_moves_on_both_seats(tmp_path):
    net = load_agent(_fcn(tmp_path))
    agent = NetSearchAgent(net)
    for preset_name in ("tiny", "official", "tournament"):      # tiny is symmetric: seat 1 sees a rotated view
        setup = new_game(preset_name, 5)
        game = setup.game()
        game.step([0, 0])
        p = agent.move_probabilities(game, 0, [0, 1])
        assert p.shape == (2, 5) and np.allclose(p.sum(axis=1), 1.0)
        for seat in (0, 1):
            legal = action_mask(game, seat)
            assert (p[seat][~legal] == 0).all()
            # its most likely move is the network's own choice, in the real frame
            assert int(np.argmax(p[seat])) == net.act(game.copy(), seat)


def test_plays_every_size_with_the_same_weights_and_refuses_what_its_network_refuses(tmp_path):
    path = _fcn(tmp_path)
    for preset_name in ("tiny", "official", "tournament"):
        res = play_series([lambda: NetSearchAgent(load_agent(path)), "greedy"], games=2, seed=4, config=preset_name,
                          turn_time=None, preprocessing_time=None, max_turns=60)
        assert res.games == 2 and res.errors == [0, 0] and "forfeit" not in res.reasons
    agent = NetSearchAgent(load_agent(_fixed(tmp_path)))
    setup = new_game("classic", 1)
    with pytest.raises(AgentRefusal, match=r"^fixed plays 15x13 mazes only; this maze is 21x15$"):
        agent.start(_ctx(setup, 0))


def _fixed(tmp_path):
    torch.manual_seed(0)
    meta = make_meta("cnn", {"channels": [8, 8, 8], "hidden": 32}, {"pi": [16], "vf": [16]}, "planes",
                     {"horizon": 780}, preset("official"), rotate="auto", masks=True, algorithm="test")
    return save_policy(tmp_path / "fixed.pt", build_policy(meta), meta)


def test_export_with_a_lookahead_loads_as_the_guided_search(tmp_path):
    src = _fcn(tmp_path)
    plain = load_agent(export_checkpoint(src, tmp_path / "plain.pt"))
    guided = load_agent(export_checkpoint(src, tmp_path / "guided.pt", lookahead={"kind": "search", "prior": 0.5}))
    assert isinstance(plain, PolicyAgent)
    assert isinstance(guided, NetSearchAgent) and guided.prior == 0.5 and guided.name == "guided"
    assert guided.kind == "neural" and guided.meta["lookahead"] == {"kind": "search", "prior": 0.5}
    with pytest.raises(ValueError, match="unknown lookahead 'mcts'"):
        export_checkpoint(src, tmp_path / "bad.pt", lookahead={"kind": "mcts"})
    with pytest.raises(ValueError, match="prior must be a finite number"):
        NetSearchAgent(plain, prior=float("nan"))


def test_export_cli_lookahead_and_its_errors(tmp_path, capsys):
    from pyrat_env.cli import main

    src = _fcn(tmp_path)
    assert main(["train", "export", str(src), str(tmp_path / "g.pt"), "--lookahead", "search", "--prior", "0.1"]) == 0
    assert isinstance(load_agent(tmp_path / "g.pt"), NetSearchAgent)
    assert main(["train", "export", str(src), str(tmp_path / "h.pt"), "--prior", "0.1"]) == 2
    assert "--prior: only with --lookahead" in capsys.readouterr().err
    assert main(["train", "export", str(src), str(tmp_path / "h.pt"), "--lookahead", "search", "--prior", "-1"]) == 2
    assert not (tmp_path / "h.pt").exists()
