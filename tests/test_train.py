"""Tiny trainings end to end: PPO (with self-play and resume), imitation, imitation then PPO, the CLI, evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")

from pyrat_rl.train.imitation import ImitationConfig, generate_dataset, split_by_maze, train_imitation  # noqa: E402
from pyrat_rl.train.ppo import PPOConfig, train_ppo  # noqa: E402
from pyrat_rl.train.selfplay import OpponentPool, parse_mix  # noqa: E402

from pyrat_env.agent import Agent  # noqa: E402
from pyrat_env.encoders import make_encoder  # noqa: E402
from pyrat_env.engine import Game  # noqa: E402
from pyrat_env.mazes import preset  # noqa: E402

TINY_MLP = {"hidden": [64]}
TINY_CNN = {"channels": [8, 8, 16], "hidden": 32}


def _ppo(tmp_path, **kw) -> PPOConfig:
    base = dict(policy="mlp", preset="tiny", net_kwargs=TINY_MLP, timesteps=512, n_envs=8, n_steps=32,
                batch_size=128, n_epochs=1, eval_every=256, eval_games=4, checkpoint_every=256, snapshot_every=256,
                out=str(tmp_path / "ppo"), progress=False, threads=1)
    base.update(kw)
    return PPOConfig(**base)


def test_ppo_end_to_end_and_resume(tmp_path):
    cfg = _ppo(tmp_path)
    summary = train_ppo(cfg)
    run = tmp_path / "ppo"
    for name in ("config.json", "best.zip", "best.json", "last.zip", "state.json", "summary.json"):
        assert (run / name).is_file(), name
    assert list((run / "checkpoints").glob("step_*.zip"))
    assert list((run / "tb").glob("events.out.tfevents.*"))
    saved = json.loads((run / "config.json").read_text())
    assert saved["config"]["policy"] == "mlp" and saved["meta"]["encoder"] == "flat"
    assert summary["timesteps"] >= 512 and summary["steps_per_s"] > 0
    assert "greedy" in summary["last_eval"]
    # the best checkpoint is an agent
    from pyrat_rl.agents.spec import resolve_agent

    agent = resolve_agent(str(run / "best.zip"))
    assert agent.kind == "neural"
    # resume: continue the same run to more steps
    first_wall = json.loads((run / "state.json").read_text())["wall_s"]
    more = train_ppo(_ppo(tmp_path, timesteps=1024), resume=True)
    assert more["timesteps"] >= 1024
    state = json.loads((run / "state.json").read_text())
    assert state["num_timesteps"] >= 1024
    # the learning curve against wall time: a resumed run counts the earlier run's time too
    from pyrat_rl.train.curve import first_crossing, learning_curve
    from pyrat_rl.train.curve import main as curve_main

    rows = learning_curve(run, "greedy")
    assert len(rows) >= 2 and [r["timesteps"] for r in rows] == sorted(r["timesteps"] for r in rows)
    assert all(r["wall_s"] is not None and r["wall_s"] > 0 for r in rows)
    assert rows[-1]["wall_s"] > first_wall and state["wall_s"] >= rows[-1]["wall_s"]
    assert first_crossing(rows, 0.0) == rows[0] and first_crossing(rows, 1.01) is None
    assert curve_main([str(run), "--out", str(tmp_path / "curve.png"), "--games", "2"]) == 0
    from pyrat_rl.train.curve import checkpoint_curve, wilson

    ckpts = checkpoint_curve(run, "random", games=2, seed=3)
    assert ckpts and all(0 <= c["low"] <= c["points"] <= c["high"] <= 1 and c["games"] == 2 for c in ckpts)
    assert [c["timesteps"] for c in ckpts] == sorted(c["timesteps"] for c in ckpts)
    low, high = wilson(0.55, 400)
    assert 0.50 < low < 0.55 < high < 0.60
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert curve_main([str(tmp_path)]) == 2


def test_ppo_self_play_pool(tmp_path):
    summary = train_ppo(_ppo(tmp_path, opponent="greedy:1,self:2", policy="cnn", net_kwargs=TINY_CNN,
                             eval_games=0))
    assert list((tmp_path / "ppo" / "pool").glob("step_*.pt"))
    draws = summary["pool_draws"]
    assert draws.get("greedy", 0) > 0 and any(k.startswith("step_") for k in draws)


def test_pool_sampling():
    assert parse_mix("greedy") == [("greedy", 1.0)]
    assert parse_mix("greedy:1, self:3,file.py:Cls") == [("greedy", 1.0), ("self", 3.0), ("file.py:Cls", 1.0)]
    with pytest.raises(ValueError):
        parse_mix("")
    pool = OpponentPool("greedy:1,self:1")
    rng = np.random.default_rng(0)
    assert {pool(rng) for _ in range(20)} == {"greedy"}          # no snapshot yet: scripted fallback
    from pyrat_rl.agents.policy_agent import build_policy, make_meta

    meta = make_meta("mlp", TINY_MLP, {"pi": [8], "vf": [8]}, "flat", {}, preset("tiny"))
    pool.add_snapshot(build_policy(meta), "s0")
    drawn = [pool(rng) for _ in range(50)]
    assert "greedy" in drawn and any(not isinstance(d, str) for d in drawn)


def test_dataset_encoding_matches_the_encoder():
    data = generate_dataset("greedy", "random", 6, preset("tiny"), seed=1, max_turns=140, chunk=4)
    assert len(data) > 20
    enc = make_encoder("planes", horizon=140)
    view = data.encoder_view(enc)
    idx = np.arange(len(data))
    obs = view.encode(idx)
    for i in idx[:: max(len(idx) // 25, 1)]:
        g, seat = int(data.game[i]), int(data.seat[i])
        maze = data.mazes[g]
        game = Game(maze, [int(c) for c in np.flatnonzero(data.cheese[i])] or [int(maze.existing_cells()[0])],
                    [int(maze.existing_cells()[0])] * 2, None, 140)
        game.cheese = [int(c) for c in np.flatnonzero(data.cheese[i])]
        game.initial_cheese = list(range(int(data.n_initial[g])))
        order = [seat, 1 - seat]
        game.pos = [0, 0]
        game.mud_target, game.mud_count, game.scores = [None, None], [0, 0], [0.0, 0.0]
        for j, p in enumerate(order):
            game.pos[p] = int(data.pos[i, j])
            if data.mud_target[i, j] >= 0:
                game.mud_target[p], game.mud_count[p] = int(data.mud_target[i, j]), int(data.mud_count[i, j])
            game.scores[p] = float(data.scores[i, j])
        game.turn = int(data.turn[i])
        np.testing.assert_allclose(obs[i], enc.encode(game, seat, bool(data.rot[i])), atol=1e-6)
        assert data.mask[i, data.action[i]] or data.action[i] == 0
    # the recorded actions are the expert's, in the view frame; seat 1 is rotated on the symmetric tiny preset
    assert data.rot[data.seat == 1].all() and not data.rot[data.seat == 0].any()
    train, val, test = split_by_maze(data, 0.2, 0.2)
    groups = data.maze_groups()[data.game]
    assert not (set(groups[train]) & set(groups[val])) and not (set(groups[train]) & set(groups[test]))
    assert len(train) + len(val) + len(test) == len(data)


def test_imitation_learns_then_ppo_continues(tmp_path):
    cfg = ImitationConfig(expert="greedy", opponents="random:1,greedy:1", games=150, policy="cnn",
                          net_kwargs={"channels": [16, 16, 16], "hidden": 64}, preset="tiny", epochs=15,
                          batch_size=64, lr=3e-3, patience=15, eval_games=4, out=str(tmp_path / "bc"),
                          progress=False, threads=1)
    summary = train_imitation(cfg)
    train_acc = summary["splits"]["train"]["accuracy"]
    # chance is about 1 / (number of legal moves), around 0.35 here; the expert is deterministic
    assert train_acc > 0.7, summary["splits"]
    assert (tmp_path / "bc" / "best.pt").is_file() and (tmp_path / "bc" / "metrics.json").is_file()
    assert list((tmp_path / "bc" / "tb").glob("events.out.tfevents.*"))
    ppo = train_ppo(_ppo(tmp_path, policy="mlp", net_kwargs=None, init=str(tmp_path / "bc" / "best.pt"),
                         timesteps=256, eval_games=0, checkpoint_every=0))
    cfg_saved = json.loads((tmp_path / "ppo" / "config.json").read_text())["config"]
    assert cfg_saved["policy"] == "cnn" and cfg_saved["net_kwargs"]["channels"] == [16, 16, 16]
    assert ppo["timesteps"] >= 256


def test_cli_imitate_and_eval(tmp_path, capsys):
    from pyrat_env.cli import main

    out = tmp_path / "cli"
    rc = main(["train", "imitate", "--expert", "greedy", "--games", "12", "--policy", "mlp", "--preset", "tiny",
               "--epochs", "2", "--eval-games", "2", "--out", str(out), "--no-progress", "--threads", "1",
               "--net", json.dumps(TINY_MLP)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "test" in text and "parameters" in text
    rc = main(["train", "eval", str(out / "best.pt"), "greedy", "--games", "4", "--preset", "tiny", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["games"] == 4
    rc = main(["train", "export", str(out / "best.pt"), str(tmp_path / "exported.pt"), "--description", "d"])
    assert rc == 0 and (tmp_path / "exported.json").is_file()


def test_batched_evaluation_matches_the_match_runner(tmp_path):
    """The batched evaluator plays the games play_series plays (deterministic agents: same results)."""
    from pyrat_rl.agents.match import play_series
    from pyrat_rl.agents.policy_agent import build_policy, load_agent, make_meta, save_policy
    from pyrat_rl.train.evaluate import evaluate

    torch.manual_seed(3)
    meta = make_meta("mlp", TINY_MLP, {"pi": [16], "vf": [16]}, "flat", {"horizon": 140}, preset("tiny"))
    path = save_policy(tmp_path / "p.pt", build_policy(meta), meta)
    res = evaluate(load_agent(path), "greedy", games=6, seed=4, config="tiny", max_turns=60)
    series = play_series([str(path), "greedy"], games=6, seed=4, config="tiny", turn_time=None,
                         preprocessing_time=None, max_turns=60)
    assert (res.wins, res.draws) == (series.wins[0], series.draws)
    assert res.mean_score == pytest.approx(series.mean_scores[0])


def test_train_benchmark_runs_quickly():
    from pyrat_rl.train.bench import ppo_steps_per_s

    rate, info = ppo_steps_per_s("mlp", rollouts=1, threads=1, n_envs=8, n_steps=16, batch_size=64,
                                 preset="tiny", net_kwargs=TINY_MLP)
    assert rate > 0 and info["steps"] == 128


def test_train_benchmark_reference_same_rollout_size():
    from pyrat_rl.train.bench import reference_ppo_steps_per_s

    over = dict(preset="tiny", net_kwargs=TINY_MLP, n_envs=8, n_steps=16, batch_size=64)
    rate, info = reference_ppo_steps_per_s("mlp", rollouts=1, threads=1, gym_envs=4, **over)
    assert rate > 0
    cfg = PPOConfig(**over)
    assert info["steps"] == cfg.n_envs * cfg.n_steps and info["n_steps"] * 4 == info["steps"]


def test_rollouts_on_one_thread_updates_on_more():
    """RolloutThreadsCallback: 1 torch thread while collecting, the update threads otherwise."""
    from pyrat_rl.train.ppo import RolloutThreadsCallback, build_model, make_env
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList

    class Record(BaseCallback):
        def __init__(self):
            super().__init__()
            self.seen = set()

        def _on_step(self):
            self.seen.add(torch.get_num_threads())
            return True

    before = torch.get_num_threads()
    try:
        cfg = PPOConfig(policy="mlp", preset="tiny", net_kwargs=TINY_MLP, n_envs=4, n_steps=8, batch_size=32,
                        n_epochs=1, progress=False)
        env = make_env(cfg)
        model = build_model(cfg, env, torch.device("cpu"))
        record = Record()
        torch.set_num_threads(2)
        model.learn(total_timesteps=64, callback=CallbackList([RolloutThreadsCallback(2, 1), record]))
        assert record.seen == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# -- one network trained on several maze sizes ---------------------------------------------------------------
TINY_FCN = {"channels": 8, "dilations": [1, 2], "hidden": 32}


def test_imitation_on_several_presets(tmp_path):
    """Datasets of two sizes, minibatches of one size each, one horizon, evaluation on both: the checkpoint
    plays every size."""
    from pyrat_rl.agents.match import play_series
    from pyrat_rl.train.imitation import MixedView

    cfg = ImitationConfig(expert="greedy", opponents="random", games=10, policy="fcn", net_kwargs=TINY_FCN,
                          preset="tiny,official", epochs=2, batch_size=64, eval_games=2, out=str(tmp_path / "bc"),
                          progress=False, threads=1)
    summary = train_imitation(cfg)
    assert set(summary["datasets"]) == {"tiny", "official"}
    assert all(d["games"] == 5 and d["samples"] > 0 and d["positions_per_s"] > 0 for d in summary["datasets"].values())
    assert summary["samples"] == sum(d["samples"] for d in summary["datasets"].values())
    assert {"test tiny", "test official"} <= set(summary["splits"])
    assert set(summary["eval"]) == {"greedy@tiny", "greedy@official"}
    meta = json.loads((tmp_path / "bc" / "best.json").read_text())
    assert meta["sizes"] == "any" and meta["presets"] == ["tiny", "official"]
    assert meta["encoder_options"]["horizon"] == 4 * 15 * 13        # the largest turn limit, on both sizes
    res = play_series([str(tmp_path / "bc" / "best.pt"), "greedy"], games=2, seed=0, config="classic",
                      turn_time=None, preprocessing_time=None, max_turns=30)
    assert res.errors == [0, 0]
    # minibatches of one size each, every sample once, sizes interleaved in the order of the shuffled indices
    enc = make_encoder("planes", horizon=100, horizon_from_game=False)
    parts = [generate_dataset("greedy", "random", 2, preset(p), seed=1, max_turns=100) for p in ("tiny", "official")]
    view = MixedView([p.encoder_view(enc) for p in parts])
    order = np.random.default_rng(0).permutation(len(view))
    batches = view.batches(order, 16)
    seen = np.concatenate([b + (0 if v is view.views[0] else view.offsets[1]) for v, b in batches])
    assert sorted(seen.tolist()) == list(range(len(view)))
    assert {v.encode(b).shape[-2:] for v, b in batches} == {(5, 7), (13, 15)}


def test_several_presets_need_a_size_free_network(tmp_path, capsys):
    from pyrat_env.cli import main

    with pytest.raises(ValueError, match="plays one size"):
        train_imitation(ImitationConfig(policy="cnn", preset="tiny,official", games=2, out=str(tmp_path / "x"),
                                        progress=False))
    rc = main(["train", "imitate", "--policy", "cnn", "--presets", "official,classic", "--out", str(tmp_path / "y")])
    assert rc == 2 and "the cnn network plays one size; use a network that plays every size (fcn)" in \
        capsys.readouterr().err
    assert not (tmp_path / "y").exists()               # refused before any work
    rc = main(["train", "ppo", "--policy", "fcn", "--presets", "official,nowhere", "--out", str(tmp_path / "z")])
    assert rc == 2 and "--presets: unknown preset 'nowhere'" in capsys.readouterr().err


def test_ppo_on_several_presets(tmp_path):
    """The mixed env pads every size to the largest grid; PPO trains the fcn on both and it plays a third size."""
    from pyrat_rl.agents.match import play_series
    from pyrat_rl.train.ppo import MixedSizeVecEnv, make_env

    cfg = _ppo(tmp_path, policy="fcn", net_kwargs=TINY_FCN, preset="tiny,official", n_envs=6, timesteps=192,
               batch_size=64, eval_every=192, eval_games=2, checkpoint_every=0, snapshot_every=0)
    env = make_env(cfg)
    assert isinstance(env, MixedSizeVecEnv) and env.num_envs == 6 and env.observation_space.shape == (18, 13, 15)
    obs = env.reset()
    assert obs.shape == (6, 18, 13, 15) and env.action_masks().shape == (6, 5)
    assert (obs[:3, 8, 5:, :] == 1).all() and (obs[:3, 8, :, 7:] == 1).all()     # tiny games padded with holes
    dones = np.zeros(6, dtype=bool)
    for _ in range(200):
        obs, rewards, done, infos = env.step(np.zeros(6, dtype=np.int64))
        dones |= done
        for i in np.flatnonzero(done):
            assert infos[i]["terminal_observation"].shape == (18, 13, 15)
        if dones[:3].any():
            break
    assert dones[:3].any()                               # a tiny game ended (its terminal observation checked)
    env.close()
    summary = train_ppo(cfg)
    assert summary["timesteps"] >= 192
    meta = json.loads((tmp_path / "ppo" / "config.json").read_text())["meta"]
    assert meta["sizes"] == "any" and meta["presets"] == ["tiny", "official"]
    last = json.loads((tmp_path / "ppo" / "state.json").read_text())["evals"][-1]["results"]
    assert {"greedy", "greedy@tiny", "greedy@official"} <= set(last)
    res = play_series([str(tmp_path / "ppo" / "last.zip"), "greedy"], games=2, seed=0, config="classic",
                      turn_time=None, preprocessing_time=None, max_turns=30)
    assert res.errors == [0, 0]


def test_dataset_is_the_same_with_worker_processes():
    # chunks draw their own seeds, so two processes record exactly the games one process records
    kw = dict(max_turns=140, chunk=3)
    one = generate_dataset("opportunist", "greedy:1,expert:1", 7, preset("tiny"), seed=4, workers=1, **kw)
    two = generate_dataset("opportunist", "greedy:1,expert:1", 7, preset("tiny"), seed=4, workers=2, **kw)
    assert len(one) == len(two) > 30
    assert [m.key() for m in one.mazes] == [m.key() for m in two.mazes]
    for k in ("game", "seat", "rot", "turn", "pos", "scores", "cheese", "action", "mask", "ret"):
        np.testing.assert_array_equal(getattr(one, k), getattr(two, k), err_msg=k)
    # and another seed gives other games
    other = generate_dataset("opportunist", "greedy:1,expert:1", 7, preset("tiny"), seed=5, workers=2, **kw)
    assert [m.key() for m in other.mazes] != [m.key() for m in one.mazes]


class _Stay(Agent):
    """A driver that never moves (picklable: a module-level class)."""

    def act(self, game, seat):
        return 0


def test_dagger_driver_moves_while_the_expert_labels():
    # the driver plays the recorded seat (it never moves), the expert's choices are the labels
    data = generate_dataset("greedy", "random", 6, preset("tiny"), seed=2, max_turns=60, chunk=3, driver=_Stay())
    assert len(data) > 100
    for g in np.unique(data.game):
        rows = data.game == g
        first = data.pos[rows & (data.turn == data.turn[rows].min()), 0]
        assert (data.pos[rows, 0] == first[0]).all()          # the recorded player stayed where it started
    assert (data.action != 0).mean() > 0.9                     # while greedy always wanted to go somewhere
    # the same games with greedy driving: the recorded player moves
    free = generate_dataset("greedy", "random", 6, preset("tiny"), seed=2, max_turns=60, chunk=3)
    assert any(len(np.unique(free.pos[free.game == g, 0])) > 1 for g in np.unique(free.game))


def test_imitation_with_dagger_rounds(tmp_path):
    cfg = ImitationConfig(expert="greedy", opponents="random:1,expert:1", games=12, policy="fcn",
                          net_kwargs={"channels": 8, "dilations": [1, 2], "hidden": 16}, preset="tiny,official",
                          epochs=1, batch_size=64, patience=1, dagger_rounds=1, dagger_games=6, eval_games=0,
                          out=str(tmp_path / "dagger"), progress=False, threads=1, workers=2)
    summary = train_imitation(cfg)
    first = json.loads((tmp_path / "dagger" / "round0.json").read_text())
    second = json.loads((tmp_path / "dagger" / "round1.json").read_text())
    # round 1 trained on the expert's games and on the games the network drove, labelled by the expert
    assert first["stats"]["dagger_round"] == 0 and second["stats"]["dagger_round"] == 1
    assert second["stats"]["samples"] == summary["samples"] > first["stats"]["samples"]
    assert len(summary["history"]) == 2
    assert (tmp_path / "dagger" / "round1.pt").is_file() and (tmp_path / "dagger" / "best.pt").is_file()


def test_dagger_driver_spec_plays_in_worker_processes(tmp_path):
    # a checkpoint path drives in every worker (each loads its own copy): the same games as in one process
    from pyrat_rl.agents.policy_agent import load_agent

    cfg = ImitationConfig(expert="greedy", opponents="random", games=4, policy="fcn",
                          net_kwargs={"channels": 8, "dilations": [1], "hidden": 16}, preset="tiny", epochs=1,
                          batch_size=64, eval_games=0, out=str(tmp_path / "net"), progress=False, threads=1)
    path = train_imitation(cfg)["checkpoint"]
    kw = dict(max_turns=60, chunk=2, seed=3)
    two = generate_dataset("greedy", "random", 4, preset("tiny"), driver=str(path), workers=2, **kw)
    one = generate_dataset("greedy", "random", 4, preset("tiny"), driver=load_agent(path), workers=1, **kw)
    for k in ("game", "turn", "pos", "action", "mask"):
        np.testing.assert_array_equal(getattr(one, k), getattr(two, k), err_msg=k)
