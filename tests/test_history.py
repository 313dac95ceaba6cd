"""History planes: a network that sees where both players were at its previous decision (fcn ``history=2``).

What the imitation datasets record (``prev_pos``) must be what the agent remembers in play, one game at a time
(``act``), batched (``act_batch``) and inside the network-guided search; PPO, whose envs give no history, refuses
such a network.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")

from pyrat_rl.agents.policy_agent import (  # noqa: E402
    PolicyAgent,
    build_policy,
    load_agent,
    make_meta,
    observation_shape,
    save_policy,
)
from pyrat_rl.train.imitation import generate_dataset, previous_positions  # noqa: E402

from pyrat_env.encoders import N_CELL, N_GLOBAL, action_mask, make_encoder, position_planes  # noqa: E402
from pyrat_env.engine import GameBatch  # noqa: E402
from pyrat_env.mazes import new_game, preset  # noqa: E402

HIST = N_CELL + N_GLOBAL          # the first history plane: the player's previous cell; then the opponent's
SMALL_FCN = {"channels": 8, "dilations": [1, 2], "hidden": 16, "readout": 2, "history": 2}


def test_position_planes_one_hot_and_rotated():
    cells = np.array([[0, 34], [3, 3]])
    p = position_planes(cells, np.array([False, True]), 7, 5)
    assert p.shape == (2, 2, 5, 7) and p.dtype == np.float32
    assert p.reshape(2, 2, -1).sum(axis=2).tolist() == [[1, 1], [1, 1]]
    assert p[0, 0, 0, 0] == 1 and p[0, 1, 4, 6] == 1
    # the rotated view: the planes turned by 180 degrees, as the encoders turn every cell plane
    plain = position_planes(cells[1:], False, 7, 5)[0]
    assert np.array_equal(p[1], plain[:, ::-1, ::-1])
    with pytest.raises(ValueError, match="outside the 7x5 grid"):
        position_planes(np.array([[35, 0]]), False, 7, 5)


def test_previous_positions_follow_each_game_and_seat():
    game = np.array([0, 0, 1, 0, 0, 1, 1])
    seat = np.array([0, 1, 0, 0, 1, 0, 1])
    pos = np.array([[10, 20], [20, 10], [5, 6], [11, 21], [21, 11], [7, 8], [8, 7]])
    prev = previous_positions(game, seat, pos)
    # first decisions keep their own cells; later ones the cells of the same game and seat's previous decision
    assert prev.tolist() == [[10, 20], [20, 10], [5, 6], [10, 20], [20, 10], [5, 6], [8, 7]]


def _history_logits(obs):
    """A 'network' that reads the history planes only: its move is a function of the two previous cells."""
    b = len(obs)
    me = obs[:, HIST].reshape(b, -1).argmax(axis=1)
    opp = obs[:, HIST + 1].reshape(b, -1).argmax(axis=1)
    assert (obs[:, HIST].reshape(b, -1).sum(axis=1) == 1).all()
    key = (me * 7 + opp * 3) % 5
    return -np.abs(np.arange(5)[None, :] - key[:, None]).astype(np.float64)


def _history_agent(preset_name="tiny", loop_guard=False) -> PolicyAgent:
    meta = make_meta("fcn", SMALL_FCN, {"pi": [16], "vf": [16]}, "planes", {"horizon": 1000}, preset(preset_name),
                     rotate="auto", masks=True, algorithm="test", loop_guard=loop_guard)
    return PolicyAgent(_history_logits, meta, name="history")


@pytest.mark.parametrize("preset_name", ["tiny", "classic"])
def test_dataset_records_what_the_agent_remembers(preset_name):
    """The agent plays as the expert: every recorded move is what the same function gives on the dataset's own
    observations (history planes from ``prev_pos``), so the two sides agree on every sample."""
    agent = _history_agent(preset_name)
    data = generate_dataset(agent, "greedy:1,random:1", 6, preset(preset_name), seed=4, max_turns=120, chunk=3)
    view = data.encoder_view(make_encoder("planes", horizon=1000), history=2)
    obs = view.encode(np.arange(len(data)))
    assert obs.shape[1] == HIST + 2
    logits = np.where(data.mask, _history_logits(obs), -1e8)
    assert np.array_equal(logits.argmax(axis=1), data.action)
    moved = (data.prev_pos != data.pos).any(axis=1)
    assert moved.mean() > 0.5                     # the planes differ from the current cells on most samples


def test_act_and_act_batch_remember_the_same_history():
    """One game at a time and batched, the agent makes the same moves (seat 1's view turned)."""
    batched = _history_agent("classic")
    setups = [new_game("classic", s) for s in (2, 3)]           # symmetric mazes: seat 1's view is turned
    singles = [_history_agent("classic") for _ in setups]       # one memory per game
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups], None, 60)
    games = [s.game(max_turns=60) for s in setups]
    batch.step(np.zeros((2, 2), dtype=np.int64))
    for g in games:
        g.step([0, 0])
    turns = 0
    while not batch.over.all() and turns < 40:
        both = np.stack([batched.act_batch(batch, 0), batched.act_batch(batch, 1)], axis=1)
        for i, g in enumerate(games):
            if g.over:
                continue
            one = [singles[i].act(g, 0), singles[i].act(g, 1)]
            assert one == both[i].tolist(), (turns, i)
            assert action_mask(g, 0)[one[0]] and action_mask(g, 1)[one[1]]
            g.step(one)
        batch.step(both)
        turns += 1
    assert turns > 10 and batched._rotation(setups[0].maze, 1)


def test_fcn_with_history_reads_the_planes_and_plays_every_size(tmp_path):
    torch.manual_seed(0)
    meta = make_meta("fcn", SMALL_FCN, {"pi": [16], "vf": [16]}, "planes", {"horizon": 780}, preset("official"))
    assert observation_shape(meta, 21, 15) == (HIST + 2, 15, 21)
    policy = build_policy(meta)
    with torch.no_grad():
        policy.action_net.weight.mul_(50.0)
    path = save_policy(tmp_path / "hist.pt", policy, meta)
    agent = load_agent(path)
    assert agent.history == 2
    for preset_name in ("tiny", "classic", "tournament"):
        setup = new_game(preset_name, 1)
        game = setup.game()
        game.step([0, 0])
        obs = agent.encoder.encode(game, 0)[None]
        planes = position_planes(np.array([[game.pos[0], game.pos[1]]]), False, game.maze.width, game.maze.height)
        moved = position_planes(np.array([[game.pos[1], game.pos[0]]]), False, game.maze.width, game.maze.height)
        x = torch.as_tensor(np.concatenate([obs, planes], axis=1))
        y = torch.as_tensor(np.concatenate([obs, moved], axis=1))
        with torch.no_grad():
            assert not torch.allclose(policy.extract_features(x, policy.pi_features_extractor),
                                      policy.extract_features(y, policy.pi_features_extractor))
        for _ in range(15):
            if game.over:
                break
            a = [agent.act(game, 0), agent.act(game, 1)]
            assert action_mask(game, 0)[a[0]] and action_mask(game, 1)[a[1]]
            game.step(a)
    if importlib.util.find_spec("onnx") is not None:   # the ONNX file takes the history planes too
        from pyrat_rl.agents.policy_agent import export_checkpoint

        other = load_agent(export_checkpoint(path, tmp_path / "hist.onnx"))
        fresh = load_agent(path)
        game = new_game("classic", 2).game()
        game.step([0, 0])
        for _ in range(10):
            a = [fresh.act(game, 0), fresh.act(game, 1)]
            assert a == [other.act(game, 0), other.act(game, 1)]
            game.step(a)


def test_guided_search_keeps_the_history_of_both_seats(tmp_path):
    from pyrat_rl.agents.net_search import NetSearchAgent

    from pyrat_env.agent import GameContext

    net = _history_agent("official")
    agent = NetSearchAgent(net)
    setup = new_game("official", 4)
    game = setup.game()
    agent.start(GameContext(maze=setup.maze, seat=0, n_players=2, cheese=tuple(setup.cheese),
                            starts=tuple(setup.starts), rng=np.random.default_rng(0), game=game.copy()))
    game.step([0, 0])
    for _ in range(6):
        cells = list(game.pos)
        a = agent.act(game, 0)
        assert action_mask(game, 0)[a]
        assert net._seen[0][:2].tolist() == cells and net._seen[1][:2].tolist() == cells[::-1]
        game.step([a, 1])


def test_ppo_refuses_a_network_with_history(tmp_path, capsys):
    from pyrat_env.cli import main

    rc = main(["train", "ppo", "--policy", "fcn", "--net", '{"history": 2}', "--preset", "tiny", "--timesteps", "64",
               "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "history" in err[0] and "imitation" in err[0]
    assert main(["train", "imitate", "--policy", "fcn", "--net", '{"history": 3}', "--preset", "tiny",
                 "--out", str(tmp_path / "x")]) == 2
    assert "history must be one of 0, 2" in capsys.readouterr().err
