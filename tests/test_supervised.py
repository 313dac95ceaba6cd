"""pyrat_rl.train.supervised and .interpret: data split by maze, the four classifiers, the training loop, playing."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pyrat_rl.train import supervised as sup  # noqa: E402
from pyrat_rl.train.interpret import (  # noqa: E402
    attention_from_cell,
    attention_maps,
    draw_maze,
    filter_responses,
    first_layer_filters,
    strongest_channels,
)


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return sup.expert_data("greedy", "greedy:1,random:1", games=24, config="tiny", val_fraction=0.2,
                           test_fraction=0.2, seed=3)


def test_split_by_maze_is_disjoint_and_complete(data):
    ids = data.maze_ids()
    sets = {k: set(ids[v].tolist()) for k, v in data.splits.items()}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    assert sum(len(v) for v in data.splits.values()) == len(data)
    assert all(len(v) for v in data.splits.values())
    rows = {r["split"]: r for r in data.summary()}
    assert rows["train"]["samples"] == len(data.splits["train"])
    assert rows["train"]["mazes"] == len(sets["train"])


def test_first_games_takes_whole_mazes(data):
    few = data.first_games("train", 2)
    ids = data.maze_ids()
    assert len(np.unique(ids[few])) == 2
    for m in np.unique(ids[few]):          # every sample of those mazes that is in the split
        assert set(np.flatnonzero(ids == m)) & set(data.splits["train"]) == set(few[ids[few] == m])
    assert np.isin(few, data.splits["train"]).all()


@pytest.mark.parametrize("kind,kwargs", [("linear", {}), ("mlp", {"hidden": (32,), "dropout": 0.2, "batchnorm": True}),
                                         ("cnn", {"channels": 8, "layers": 2, "batchnorm": True, "dropout": 0.1}),
                                         ("transformer", {"d_model": 16, "heads": 2, "layers": 1, "ff": 32}),
                                         ("transformer", {"d_model": 16, "heads": 2, "layers": 1, "positions": False})])
def test_models_forward_and_rebuild(data, kind, kwargs):
    model = sup.make_model(kind, data, seed=0, **kwargs)
    assert model.encoder_name == sup.ENCODER_OF[kind]
    obs = torch.as_tensor(data.encode(model.encoder_name, np.arange(5)))
    model.eval()
    out = model(obs)
    assert out.shape == (5, 5) and torch.isfinite(out).all()
    again = sup.make_model(model.spec["kind"], model.spec["obs_shape"], seed=0, **model.spec["kwargs"])
    again.eval()
    assert torch.allclose(again(obs), out)
    assert sup.count_parameters(model) > 0


def test_fit_learns_and_is_reproducible(data):
    def run():
        model = sup.make_model("mlp", data, seed=1, hidden=(64,))
        hist = sup.fit(model, data, epochs=4, batch_size=64, lr=3e-3, seed=5, device="cpu")
        return model, hist

    m1, h1 = run()
    _, h2 = run()
    assert [r["val_loss"] for r in h1.rows] == pytest.approx([r["val_loss"] for r in h2.rows])
    assert len(h1.rows) == 4 and 1 <= h1.best_epoch <= 4
    assert h1.rows[-1]["train_loss"] < h1.rows[0]["train_loss"]
    # better than the best constant guess among legal moves
    counts = np.bincount(data.states.action[data.splits["train"]], minlength=5)
    assert h1.best["train_accuracy"] > counts.max() / counts.sum()
    # the kept weights are the best epoch's
    assert sup.evaluate(m1, data, "val")["loss"] == pytest.approx(h1.best["val_loss"], rel=1e-5)


def test_masked_predictions_are_legal(data):
    model = sup.make_model("linear", data, seed=0)
    src = data.source("flat")
    obs, act, mask = src.get(np.arange(50))
    pred = sup.masked_logits(model(obs), mask).argmax(1)
    assert mask[torch.arange(50), pred].all()
    assert mask[torch.arange(50), act].all()         # the expert's move is always legal


def test_masking_uses_the_policy_constant_and_ignores_illegal_moves(data):
    """One masking value (MaskablePPO's): masked cross-entropy is the cross-entropy over the legal moves alone."""
    from pyrat_rl.agents.policy_agent import MASKED_LOGIT

    torch.manual_seed(0)
    obs, act, mask = data.source("flat").get(np.arange(40))
    logits = 30.0 * torch.randn(40, 5)               # illegal moves may hold the largest raw logits
    masked = sup.masked_logits(logits, mask)
    assert (masked[~mask] == MASKED_LOGIT).all() and (masked[mask] == logits[mask]).all()
    by_hand = torch.stack([-torch.log_softmax(logits[i][mask[i]], 0)[int(mask[i][:act[i]].sum())] for i in range(40)])
    assert torch.allclose(torch.nn.functional.cross_entropy(masked, act, reduction="none"), by_hand, atol=1e-5)


def test_patience_stops_early(data):
    model = sup.make_model("linear", data, seed=0)
    hist = sup.fit(model, data, epochs=30, lr=0.3, patience=1, seed=0, device="cpu")
    assert len(hist.rows) < 30


def test_attention_recorded_matches_fused(data):
    model = sup.make_model("transformer", data, seed=2, d_model=16, heads=4, layers=2, ff=32)
    model.eval()
    obs = torch.as_tensor(data.encode("tokens", np.arange(3)))
    fused = model(obs)
    maps = attention_maps(model, obs)
    n = data.config.width * data.config.height
    assert maps.shape == (2, 3, 4, n + 1, n + 1)
    assert np.allclose(maps.sum(-1), 1.0, atol=1e-5)
    assert torch.allclose(model(obs), fused, atol=1e-5)
    assert all(not b.record for b in model.blocks)
    row = attention_from_cell(maps, cell=4)
    assert row.shape == (4, n)


def test_filters_and_responses(data):
    model = sup.make_model("cnn", data, seed=0, channels=6, layers=2)
    w = first_layer_filters(model)
    assert w.shape == (6, 14, 3, 3)
    rows = strongest_channels(model, top=2)
    assert len(rows) == 6 and "(" in rows[0]["strongest planes"]
    resp = filter_responses(model, data.encode("planes", [0])[0])
    assert resp.shape == (6, data.config.height, data.config.width) and (resp >= 0).all()


def test_draw_maze_runs():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from pyrat_env.mazes import new_game

    setup = new_game("official", 1)
    fig, ax = plt.subplots()
    draw_maze(ax, setup.maze, np.arange(setup.maze.n_cells), cheese=setup.cheese, players=setup.starts,
              colorbar=True, title="t")
    plt.close(fig)


def test_classifier_plays_saves_and_loads(data, tmp_path):
    from pyrat_rl.agents.spec import resolve_agent
    from pyrat_rl.train.evaluate import evaluate

    model = sup.make_model("cnn", data, seed=0, channels=8, layers=2)
    sup.fit(model, data, epochs=2, seed=0, device="cpu")
    agent = sup.as_agent(model, data, name="cnn")
    res = evaluate(agent, "random", games=4, seed=0, config=data.config, max_turns=60)
    assert res.games == 4
    path = sup.save_classifier(model, tmp_path / "cnn.pt", data)
    loaded, meta = sup.load_classifier(path)
    obs = torch.as_tensor(data.encode("planes", np.arange(4)))
    assert torch.allclose(loaded(obs), model(obs), atol=1e-6)
    assert meta["encoder"] == "planes" and meta["max_turns"] == data.max_turns
    assert meta["format"] == "pyrat-policy/2" and meta["head"] == "classifier" and meta["policy"] == "cnn"
    assert not list(tmp_path.glob("*.py"))           # the checkpoint is the agent spec: no agent file
    player = resolve_agent(str(path))
    assert player.name == "cnn" and "classifier" in player.description
    again = evaluate(player, "random", games=4, seed=0, config=data.config, max_turns=60)
    assert (again.wins, again.draws, again.mean_score) == (res.wins, res.draws, res.mean_score)


def test_saved_classifier_plays_through_pyrat_play(data, tmp_path, capsys):
    """``pyrat play FILE.pt greedy``: the saved classifier is a spec of the command line as it is."""
    import json

    from pyrat_env.cli import main

    path = sup.save_classifier(sup.make_model("mlp", data, seed=0, hidden=(16,)), tmp_path / "mlp.pt", data)
    code = main(["play", str(path), "greedy", "--games", "2", "--preset", "tiny", "--no-time-limit", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["games"] == 2 and summary["names"][0] == "mlp" and summary["errors"] == [0, 0]


def test_old_classifier_files_still_load(data, tmp_path):
    """A ``pyrat-classifier/1`` file (the notebooks' format before it joined the policies') plays as it did."""
    from pyrat_rl.agents.policy_agent import load_agent, make_meta

    from pyrat_env.mazes import new_game

    model = sup.make_model("mlp", data, seed=4, hidden=(16,))
    old_meta = make_meta("supervised-mlp", model.spec["kwargs"], {}, "flat", {"horizon": data.max_turns},
                         data.config, rotate="auto", masks=True, algorithm="supervised", max_turns=data.max_turns,
                         name="old", classifier=model.spec)
    old_meta["format"] = "pyrat-policy/1"
    del old_meta["head"]
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": "pyrat-classifier/1", "spec": model.spec, "meta": old_meta, "state_dict": state},
               tmp_path / "old.pt")
    loaded, meta = sup.load_classifier(tmp_path / "old.pt")
    assert meta["head"] == "classifier" and meta["policy"] == "mlp" and "classifier" not in meta
    model.eval()
    obs = torch.as_tensor(data.encode("flat", np.arange(6)))
    assert torch.equal(loaded(obs), model(obs))
    old, new = load_agent(tmp_path / "old.pt"), sup.as_agent(model, data)
    for seed in range(4):
        game = new_game(data.config, seed).game()
        game.step([0, 0])
        assert old.act(game, 0) == new.act(game, 0) and old.act(game, 1) == new.act(game, 1)


def test_classifier_cannot_start_actor_critic_training(data, tmp_path):
    from pyrat_rl.agents.policy_agent import build_policy
    from pyrat_rl.train.ppo import PPOConfig, config_from_init

    path = sup.save_classifier(sup.make_model("linear", data, seed=0), tmp_path / "lin.pt", data)
    _, meta = sup.load_classifier(path)
    with pytest.raises(ValueError, match="classifier"):
        build_policy(meta)
    with pytest.raises(ValueError, match="actor-critic"):
        config_from_init(PPOConfig(init=str(path)))


def test_save_checks_the_observation_shape(data, tmp_path):
    """A model made for other mazes cannot be saved with this data's metadata (it could not be rebuilt)."""
    model = sup.make_model("linear", (10,), seed=0)
    with pytest.raises(ValueError, match="observations"):
        sup.save_classifier(model, tmp_path / "bad.pt", data)


def test_settings(monkeypatch, tmp_path):
    monkeypatch.setenv(sup.QUICK_ENV, "1")
    assert sup.quick_mode() and sup.by_mode(1, 2) == 1
    monkeypatch.setenv(sup.QUICK_ENV, "0")
    assert not sup.quick_mode() and sup.by_mode(1, 2) == 2
    monkeypatch.setenv(sup.RUNS_ENV, str(tmp_path / "r"))
    assert sup.runs_dir("a").is_dir() and sup.runs_dir("a").parent == tmp_path / "r"
    threads = torch.get_num_threads()
    try:
        assert sup.setup(0, threads=1).type in ("cpu", "cuda")
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("PYRAT_THREADS", "2")
        sup.setup(0)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    text = sup.format_table([{"a": 1, "b": 0.12345}, {"a": 1000, "b": 2.0}])
    assert "1,000" in text and "0.123" in text


def test_runs_default_to_the_working_folder(monkeypatch, tmp_path):
    """Without ``$PYRAT_RUNS``, run data goes to ``runs/notebooks`` in the working folder, never into the package."""
    monkeypatch.delenv(sup.RUNS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    path = sup.runs_dir("agents")
    assert path == tmp_path / "runs" / "notebooks" / "agents" and path.is_dir() and path.is_absolute()
    monkeypatch.setenv(sup.RUNS_ENV, "elsewhere")      # a relative $PYRAT_RUNS is taken from the working folder
    assert sup.runs_dir() == tmp_path / "elsewhere"


def test_attention_share_against_uniform(data):
    from pyrat_rl.train.interpret import attention_share

    model = sup.make_model("transformer", data, seed=0, d_model=16, heads=2, layers=1, ff=32)
    obs = data.encode("tokens", np.arange(6))
    maps = attention_maps(model, obs)
    everything = np.ones((6, obs.shape[1]), dtype=bool)
    share, uniform = attention_share(maps, obs[:, :, 10].argmax(1), everything)
    assert share.shape == (1, 2) and np.allclose(share, 1.0) and uniform == 1.0
    nothing = np.zeros_like(everything)
    share, uniform = attention_share(maps, obs[:, :, 10].argmax(1), nothing)
    assert np.allclose(share, 0.0) and uniform == 0.0


def test_draw_sample_and_saved_agents(data, tmp_path):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    from pyrat_rl.train.interpret import draw_sample

    fig, ax = plt.subplots()
    rotated = np.flatnonzero(data.states.rot)
    for i in [0] + rotated[:1].tolist():          # tiny mazes are symmetric: seat 1 sees a rotated view
        draw_sample(ax, data, int(i))
    plt.close(fig)
    model = sup.make_model("linear", data, seed=0)
    sup.save_classifier(model, tmp_path / "lin.pt", data)
    (tmp_path / "ppo.zip").write_bytes(b"")
    (tmp_path / "ppo.pt").write_bytes(b"")       # a .zip comes first
    (tmp_path / "imit.pt").write_bytes(b"")
    (tmp_path / "notes.py").write_text("")          # Python files are not listed
    found = sup.saved_agents(tmp_path)
    assert list(found) == ["imit", "lin", "ppo"]
    assert found["lin"].endswith("lin.pt") and found["ppo"].endswith("ppo.zip") and found["imit"].endswith("imit.pt")
