"""Checkpoints are agents: .pt, .zip and .onnx files load, see the game as the env does, and play matches."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import numpy as np
import pytest
from pyrat_rl.agents.spec import list_agents

torch = pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")

from pyrat_rl.agents.policy_agent import (  # noqa: E402
    META_FORMAT,
    META_MEMBER,
    READ_FORMATS,
    PolicyAgent,
    build_policy,
    export_checkpoint,
    head_of,
    load_agent,
    load_checkpoint,
    make_meta,
    maze_is_symmetric,
    policy_logits,
    save_policy,
)

from pyrat_env.encoders import ROTATED_ACTION  # noqa: E402
from pyrat_env.engine import GameBatch  # noqa: E402
from pyrat_env.mazes import new_game, preset  # noqa: E402

SMALL = {"cnn": {"channels": [8, 8, 8], "hidden": 32}, "mlp": {"hidden": [32]},
         "transformer": {"d_model": 16, "heads": 2, "layers": 1, "ff": 32}}
ENCODER = {"cnn": "planes", "mlp": "flat", "transformer": "tokens"}


def _policy_file(tmp_path, name="cnn", preset_name="tiny", seed=0):
    torch.manual_seed(seed)
    meta = make_meta(name, SMALL[name], {"pi": [16], "vf": [16]}, ENCODER[name], {"horizon": 140},
                     preset(preset_name), rotate="auto", masks=True, algorithm="test")
    policy = build_policy(meta)
    # random weights give near-uniform logits; scale the action head so choices are clear-cut
    with torch.no_grad():
        policy.action_net.weight.mul_(50.0)
    return save_policy(tmp_path / f"{name}_{preset_name}.pt", policy, meta), policy, meta


@pytest.mark.parametrize("name", ["cnn", "mlp", "transformer"])
def test_pt_roundtrip_and_batched_play(tmp_path, name):
    path, _, _ = _policy_file(tmp_path, name, "official")
    assert path.with_suffix(".json").is_file()
    agent = load_agent(path)
    assert isinstance(agent, PolicyAgent) and agent.kind == "neural" and agent.name == path.stem
    setups = [new_game("official", s) for s in range(6)]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups])
    batch.step(np.zeros((6, 2), dtype=np.int64))
    rng = np.random.default_rng(0)
    for step in range(12):
        for seat in (0, 1):
            acts = agent.act_batch(batch, seat)
            for i in (step % 6, (step + 3) % 6):
                if not batch.over[i] and batch.mud_target[i, seat] < 0:
                    game = batch.to_game(i)
                    assert acts[i] == agent.act(game, seat)
                    assert acts[i] in game.legal_actions(seat)
        batch.step(rng.integers(0, 5, size=(6, 2)))


def test_rotation_matches_the_env(tmp_path):
    """On a symmetric maze seat 1 sees the rotated view; the agent's action is what the env would do."""
    from pyrat_env.envs.gym_env import PyRatEnv

    path, policy, _ = _policy_file(tmp_path, "cnn", "tiny")
    agent = load_agent(path)
    env = PyRatEnv(preset="tiny", seat=1, encoder="planes", opponent="greedy")
    checked = 0
    for episode in range(4):
        obs, _ = env.reset(seed=episode)
        assert env._rotate and maze_is_symmetric(env.game.maze)
        done = False
        while not done:
            mask = env.action_masks()
            with torch.no_grad():
                logits = policy_logits(policy, torch.as_tensor(obs[None])).numpy()[0]
            a_view = int(np.where(mask, logits, -1e8).argmax())
            if env.game.mud_target[1] is None:
                assert agent.act(env.game.copy(), 1) == int(ROTATED_ACTION[a_view])
                checked += 1
            obs, _, term, trunc, _ = env.step(a_view)
            done = term or trunc
    assert checked > 10
    assert not maze_is_symmetric(new_game("official", 1).maze)


def test_zip_checkpoint_from_ppo_model(tmp_path):
    from pyrat_rl.train.ppo import PPOConfig, build_model, make_env, run_meta, save_model

    cfg = PPOConfig(policy="mlp", preset="tiny", n_envs=4, n_steps=8, batch_size=16, net_kwargs=SMALL["mlp"])
    env = make_env(cfg)
    model = build_model(cfg, env, torch.device("cpu"))
    meta = run_meta(cfg, env)
    path = save_model(model, tmp_path / "model.zip", meta)
    with zipfile.ZipFile(path) as zf:
        assert META_MEMBER in zf.namelist() and "policy.optimizer.pth" in zf.namelist()
    loaded_meta, state = load_checkpoint(path)
    assert loaded_meta["policy"] == "mlp" and loaded_meta["encoder"] == "flat"
    assert loaded_meta["encoder_options"]["horizon"] == env.max_turns
    agent = load_agent(path)
    game = new_game("tiny", 5).game()
    game.step([0, 0])
    assert agent.act(game, 0) in game.legal_actions(0)
    # exported without the optimizer state
    small = export_checkpoint(path, tmp_path / "small.pt")
    assert small.stat().st_size < path.stat().st_size
    assert load_agent(small).act(game, 1) == agent.act(game, 1)


def test_onnx_export_plays_like_the_pt(tmp_path):
    pytest.importorskip("onnx")
    path, _, _ = _policy_file(tmp_path, "cnn", "official")
    onnx_path = export_checkpoint(path, tmp_path / "policy.onnx")
    a, b = load_agent(path), load_agent(onnx_path)
    assert b.kind == "neural"
    for seed in range(3):
        game = new_game("official", seed).game()
        game.step([0, 0])
        assert a.act(game, 0) == b.act(game, 0)


def test_checkpoint_plays_matches_through_the_spec(tmp_path):
    from pyrat_rl.agents.match import play_series
    from pyrat_rl.agents.spec import resolve_agent

    path, _, _ = _policy_file(tmp_path, "cnn", "official")
    assert isinstance(resolve_agent(str(path)), PolicyAgent)
    res = play_series([str(path), "greedy"], games=2, seed=3, turn_time=None, preprocessing_time=None,
                      max_turns=300)
    assert res.games == 2 and sum(res.errors) == 0


def test_stochastic_agent_is_seeded(tmp_path):
    path, _, _ = _policy_file(tmp_path, "mlp", "official")
    game = new_game("official", 2).game()
    game.step([0, 0])
    runs = []
    for _ in range(2):
        agent = load_agent(path, deterministic=False)
        agent.rng = np.random.default_rng(7)
        runs.append([agent.act(game, 0) for _ in range(20)])
    assert runs[0] == runs[1]
    assert all(a in game.legal_actions(0) for a in runs[0])


def test_new_files_name_their_head_and_old_ones_still_load(tmp_path):
    """Files are written as ``pyrat-policy/2`` with a head; a ``pyrat-policy/1`` file (no head) is an actor-critic."""
    path, policy, meta = _policy_file(tmp_path, "mlp", "official")
    assert meta["format"] == META_FORMAT == "pyrat-policy/2" and meta["head"] == "actor-critic"
    old_meta = {k: v for k, v in meta.items() if k != "head"}
    old_meta["format"] = "pyrat-policy/1"
    old = tmp_path / "old.pt"
    torch.save({"meta": old_meta, "state_dict": {k: v.detach() for k, v in policy.state_dict().items()}}, old)
    a, b = load_agent(path), load_agent(old)
    for seed in range(4):
        game = new_game("official", seed).game()
        game.step([0, 0])
        assert a.act(game, 0) == b.act(game, 0) and a.act(game, 1) == b.act(game, 1)
    future = dict(meta, head="world-model")
    torch.save({"meta": future, "state_dict": {}}, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="head"):
        load_checkpoint(tmp_path / "future.pt")


def test_classifier_checkpoints_share_the_format_and_the_loader(tmp_path):
    """A course classifier saved with `save_policy` loads through `load_agent`, and exports to ONNX like a policy."""
    from pyrat_rl.agents.networks import make_classifier
    from pyrat_rl.agents.policy_agent import agent_from_policy

    from pyrat_env.encoders import make_encoder

    cfg = preset("official")
    shape = make_encoder("planes").shape(cfg.width, cfg.height)
    model = make_classifier("cnn", shape, seed=0, channels=8, layers=2).eval()
    meta = make_meta("cnn", model.spec["kwargs"], {}, "planes", {"horizon": 780}, cfg, head="classifier")
    path = save_policy(tmp_path / "clf.pt", model, meta)
    live, loaded = agent_from_policy(model, meta, name="clf"), load_agent(path)
    assert loaded.name == "clf" and type(loaded.policy) is type(model)
    games = [new_game("official", s).game() for s in range(4)]
    for g in games:
        g.step([0, 0])
    assert [loaded.act(g, 0) for g in games] == [live.act(g, 0) for g in games]
    if importlib.util.find_spec("onnx") is not None:
        onnx_path = export_checkpoint(path, tmp_path / "clf.onnx")
        assert [load_agent(onnx_path).act(g, 1) for g in games] == [live.act(g, 1) for g in games]


def test_bad_files(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(ValueError):
        load_checkpoint(bad)
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "x.h5")


def test_shipped_agents_listed_and_small():
    agents = [a for a in list_agents() if a["kind"] == "neural"]
    assert agents, "no shipped agent in agents/shipped"
    for entry in agents:
        assert entry["description"]
        from pathlib import Path

        path = Path(entry["checkpoint"])
        assert path.stat().st_size < 5_000_000
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["format"] in READ_FORMATS and head_of(meta) == "actor-critic"
        agent = load_agent(path)
        game = new_game("official", 11).game()
        game.step([0, 0])
        assert agent.act(game, 0) in game.legal_actions(0)


@pytest.mark.slow
def test_shipped_agent_beats_greedy():
    """The shipped agent scores at least 55 % against greedy over 100 paired official games (batched evaluator)."""
    from pyrat_rl.train.evaluate import evaluate

    entry = [a for a in list_agents() if a["kind"] == "neural"][0]
    res = evaluate(load_agent(entry["checkpoint"]), "greedy", games=100, seed=0, config="official")
    assert res.points >= 0.55, res.summary(entry["name"], "greedy")


def test_a_match_turn_limit_does_not_change_what_a_trained_policy_sees():
    """The ``turn`` feature of a policy keeps its training horizon: ``pyrat play``'s default limit of 1000 turns
    once changed one game in a hundred of the shipped agent (a near tie between two moves flipped)."""
    from pyrat_env.encoders import make_encoder

    agent = load_agent(next(a["checkpoint"] for a in list_agents() if a["name"] == "cnn_planner"))
    setup = new_game("official", 5)
    free, capped = setup.game(max_turns=None), setup.game(max_turns=1000)
    for g in (free, capped):
        for _ in range(40):
            g.step([0, 0])
    assert np.array_equal(agent.encoder.encode(free, 0), agent.encoder.encode(capped, 0))
    env_encoder = make_encoder(agent.meta["encoder"], **agent.meta["encoder_options"])  # what an env uses
    assert not np.array_equal(env_encoder.encode(free, 0), env_encoder.encode(capped, 0))


# -- maze sizes: one network for every size, and a clear refusal from the others --------------------------------
SMALL_FCN = {"channels": 8, "dilations": [1, 2], "hidden": 32}


def _fcn_file(tmp_path, seed=0):
    torch.manual_seed(seed)
    meta = make_meta("fcn", SMALL_FCN, {"pi": [16], "vf": [16]}, "planes", {"horizon": 780}, preset("official"))
    policy = build_policy(meta)
    with torch.no_grad():
        policy.action_net.weight.mul_(50.0)
    return save_policy(tmp_path / "fcn.pt", policy, meta), meta


def test_checkpoints_record_the_sizes_they_play(tmp_path):
    from pyrat_rl.agents.policy_agent import playable_sizes

    _, meta = _fcn_file(tmp_path)
    assert meta["sizes"] == "any" and playable_sizes(meta) == "any"
    _, _, cnn_meta = _policy_file(tmp_path, "cnn", "classic")
    assert cnn_meta["sizes"] == [21, 15] and playable_sizes(cnn_meta) == (21, 15)
    old = {k: v for k, v in cnn_meta.items() if k != "sizes"}          # files written before the field
    assert playable_sizes(old) == (21, 15)
    # the course classifiers: convolutions and per-cell tokens read any size, flat inputs one
    for kind, sizes in (("cnn", "any"), ("transformer", "any"), ("linear", [7, 5]), ("mlp", [7, 5])):
        meta = make_meta(kind, {}, {}, "planes", {}, preset("tiny"), head="classifier")
        assert meta["sizes"] == sizes, kind
        assert playable_sizes({k: v for k, v in meta.items() if k != "sizes"}) == (
            sizes if sizes == "any" else tuple(sizes))


@pytest.mark.parametrize("preset_name", ["tiny", "official", "classic", "tournament"])
def test_size_free_checkpoint_plays_every_size_with_the_same_weights(tmp_path, preset_name):
    """The same fcn file plays every preset: legal moves each turn, one game at a time and batched, no errors."""
    from pyrat_rl.agents.match import play_series

    from pyrat_env.agent import GameContext
    from pyrat_env.encoders import action_mask

    path, _ = _fcn_file(tmp_path)
    agent = load_agent(path)
    setup = new_game(preset_name, 5)
    game = setup.game()
    agent.start(GameContext(maze=setup.maze, seat=1, n_players=2, cheese=tuple(setup.cheese),
                            starts=tuple(setup.starts), rng=np.random.default_rng(0), game=game.copy()))
    game.step([0, 0])
    for _ in range(25):
        if game.over:
            break
        actions = []
        for seat in (0, 1):
            a = agent.act(game.copy(), seat)
            assert action_mask(game, seat)[a], (seat, a)         # a legal move in the real frame
            actions.append(a)
        game.step(actions)
    setups = [new_game(preset_name, s) for s in range(3)]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups])
    batch.step(np.zeros((3, 2), dtype=np.int64))
    acts = agent.act_batch(batch, 1)
    for i in range(3):
        assert action_mask(batch.to_game(i), 1)[acts[i]]
    res = play_series([str(path), "greedy"], games=2, seed=1, config=preset_name, turn_time=None,
                      preprocessing_time=None, max_turns=40)
    assert res.games == 2 and res.errors == [0, 0] and "forfeit" not in res.reasons


def test_size_free_onnx_export_plays_every_size(tmp_path):
    pytest.importorskip("onnx")
    path, _ = _fcn_file(tmp_path)
    onnx_path = export_checkpoint(path, tmp_path / "fcn.onnx")
    a, b = load_agent(path), load_agent(onnx_path)
    for preset_name in ("tiny", "classic", "tournament"):
        for seed in range(2):
            game = new_game(preset_name, seed).game()
            game.step([0, 0])
            assert a.act(game, 0) == b.act(game, 0) and a.act(game, 1) == b.act(game, 1)


def test_fixed_size_agent_refuses_other_sizes_at_start(tmp_path):
    """A network built for one size refuses another at start, with one message naming it and both sizes."""
    from pyrat_rl.agents.spec import resolve_agent

    from pyrat_env.agent import AgentRefusal, GameContext

    agent = resolve_agent("cnn_planner")      # the shipped agent: a pyrat-policy/1 file without ``sizes``
    setup = new_game("classic", 1)
    ctx = GameContext(maze=setup.maze, seat=0, n_players=2, cheese=tuple(setup.cheese), starts=tuple(setup.starts),
                      rng=np.random.default_rng(0), game=setup.game())
    message = "cnn_planner plays 15x13 mazes only; this maze is 21x15"
    with pytest.raises(AgentRefusal) as info:
        agent.start(ctx)
    assert str(info.value) == message and isinstance(info.value, ValueError)
    with pytest.raises(AgentRefusal, match="plays 15x13 mazes only"):   # asked anyway: the same message
        agent.act(setup.game(), 0)
    batch = GameBatch([setup.maze], [setup.cheese], [setup.starts])
    with pytest.raises(AgentRefusal, match="this maze is 21x15"):
        agent.act_batch(batch, 0)
    official = new_game("official", 1)                 # its own size: plays
    agent.start(GameContext(maze=official.maze, seat=0, n_players=2, cheese=tuple(official.cheese),
                            starts=tuple(official.starts), rng=np.random.default_rng(0), game=official.game()))
    path, _, _ = _policy_file(tmp_path, "mlp", "tiny")
    with pytest.raises(AgentRefusal, match=r"^mlp_tiny plays 7x5 mazes only; this maze is 15x13$"):
        load_agent(path).act(official.game(), 0)


def _ping_pong_agent(loop_guard: bool) -> PolicyAgent:
    """An agent whose 'network' says east on even columns and west on odd ones (south second): it loops."""
    from pyrat_env.encoders import CH_SELF

    def logits_fn(obs):
        me = obs[:, CH_SELF].reshape(len(obs), -1).argmax(axis=1)
        col = me % obs.shape[-1]
        out = np.zeros((len(obs), 5))
        out[:, 3] = 5.0                                   # south, the second choice everywhere
        out[np.arange(len(obs)), np.where(col % 2 == 0, 2, 4)] = 10.0
        return out

    meta = make_meta("cnn", SMALL["cnn"], {"pi": [16], "vf": [16]}, "planes", {"horizon": 140}, preset("tiny"),
                     rotate=False, masks=True, algorithm="test", loop_guard=loop_guard)
    return PolicyAgent(logits_fn, meta, name="pingpong")


def _cells_visited(agent, batched: bool, turns: int = 12) -> list[int]:
    from pyrat_env.engine import Game, Maze

    maze = Maze.open_grid(7, 5)
    cheese, starts = [34], [0, 28]      # the opponent stays in the bottom-left corner
    if batched:
        game = GameBatch([maze], [cheese], [starts], None, 140)
        game.step(np.zeros((1, 2), dtype=np.int64))
        cells = [int(game.pos[0, 0])]
        for _ in range(turns):
            game.step(np.array([[agent.act_batch(game, 0)[0], 0]]))
            cells.append(int(game.pos[0, 0]))
        return cells
    game = Game(maze, cheese, starts, None, 140)
    game.step([0, 0])
    cells = [game.pos[0]]
    for _ in range(turns):
        game.step([agent.act(game, 0), 0])
        cells.append(game.pos[0])
    return cells


@pytest.mark.parametrize("batched", [False, True])
def test_loop_guard_breaks_a_back_and_forth(batched):
    free = _cells_visited(_ping_pong_agent(False), batched)
    assert set(free) == {0, 1}                          # trapped between two cells until the turn limit
    guarded = _cells_visited(_ping_pong_agent(True), batched)
    assert len(set(guarded)) > 4 and max(guarded) > 7  # it went south, row after row
    # it never steps again onto the cell it just came back from
    for i in range(3, len(guarded)):
        assert not (guarded[i] == guarded[i - 2] and guarded[i - 1] == guarded[i - 3] and guarded[i] != guarded[i - 1])
    assert guarded == _cells_visited(_ping_pong_agent(True), not batched)


def _square_agent(loop_guard) -> PolicyAgent:
    """An agent whose 'network' goes round the 2x2 square of the top-left corner (east, south, west, north), with
    south second everywhere: no back-and-forth, a cycle of four cells."""
    from pyrat_env.encoders import CH_SELF

    def logits_fn(obs):
        me = obs[:, CH_SELF].reshape(len(obs), -1).argmax(axis=1)
        row, col = me // obs.shape[-1], me % obs.shape[-1]
        out = np.zeros((len(obs), 5))
        out[:, 3] = 5.0
        best = np.full(len(obs), 2)                      # east, also outside the square
        best[(row == 0) & (col == 1)] = 3                # south
        best[(row == 1) & (col == 1)] = 4                # west
        best[(row == 1) & (col == 0)] = 1                # north
        out[np.arange(len(obs)), best] = 10.0
        return out

    meta = make_meta("cnn", SMALL["cnn"], {"pi": [16], "vf": [16]}, "planes", {"horizon": 140}, preset("tiny"),
                     rotate=False, masks=True, algorithm="test", loop_guard=loop_guard)
    return PolicyAgent(logits_fn, meta, name="square")


@pytest.mark.parametrize("batched", [False, True])
def test_cycle_guard_leaves_a_longer_cycle(batched):
    square = {0, 1, 7, 8}
    assert set(_cells_visited(_square_agent(False), batched, turns=16)) == square   # round and round
    assert set(_cells_visited(_square_agent(True), batched, turns=16)) == square    # no back-and-forth to break
    cycles = _cells_visited(_square_agent("cycles"), batched, turns=16)
    assert not set(cycles) <= square                   # it left the square
    assert cycles[:8] == [0, 1, 8, 7, 0, 1, 8, 7]      # the network's own moves until a third decision on a cell
    assert cycles == _cells_visited(_square_agent("cycles"), not batched, turns=16)


def test_loop_guard_travels_in_the_checkpoint(tmp_path):
    from pyrat_env.cli import main

    path, _, _ = _policy_file(tmp_path, "cnn", "tiny")
    assert main(["train", "export", str(path), str(tmp_path / "guarded.pt"), "--loop-guard"]) == 0
    assert load_agent(tmp_path / "guarded.pt").loop_guard and not load_agent(path).loop_guard
    assert not load_agent(tmp_path / "guarded.pt").cycle_guard
    assert main(["train", "export", str(path), str(tmp_path / "cycles.pt"), "--loop-guard", "cycles"]) == 0
    agent = load_agent(tmp_path / "cycles.pt")
    assert agent.loop_guard and agent.cycle_guard and agent.meta["loop_guard"] == "cycles"


def test_unknown_loop_guard_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown loop_guard 'loops'"):
        _square_agent("loops")
