"""pyrat_rl.train.pretext: unlabelled positions, the masked-cell task, pretraining, fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pyrat_rl.train import pretext as pt  # noqa: E402
from pyrat_rl.train import supervised as sup  # noqa: E402


@pytest.fixture(scope="module")
def unlabelled():
    torch.set_num_threads(1)
    return pt.unlabelled_data(games=20, config="tiny", seed=0, per_game=6, val_fraction=0.2)


def test_unlabelled_data_keeps_few_positions_per_maze_on_new_mazes(unlabelled):
    games = unlabelled.states.game
    assert np.bincount(games).max() <= 6
    assert len(unlabelled.splits["test"]) == 0 and len(unlabelled.splits["val"]) > 0
    expert = sup.expert_data("greedy", "greedy", games=20, config="tiny", seed=0)
    keys = {m.key() for m in expert.states.mazes}
    assert not keys & {m.key() for m in unlabelled.states.mazes}


def test_random_cell_mask_counts():
    gen = torch.Generator().manual_seed(0)
    m = pt.random_cell_mask(7, 35, 0.3, gen)
    assert m.shape == (7, 35) and (m.sum(1) == round(0.3 * 35)).all()
    assert (pt.random_cell_mask(2, 35, 0.0, gen).sum(1) == 1).all()


def test_targets_are_the_maze_channels(unlabelled):
    obs = torch.as_tensor(unlabelled.encode("tokens", [0]))
    t = pt.pretext_targets(obs)
    maze = unlabelled.states.mazes[int(unlabelled.states.game[0])]
    assert t.shape == (1, maze.n_cells, 9)
    assert np.array_equal(t[0, :, 0].numpy().astype(bool), maze.weights[:, 1] == 0)      # wall north
    assert np.array_equal(t[0, :, 8].numpy().astype(bool), ~maze.cells)                  # hole
    assert np.array_equal(t[0, :, 5].numpy().astype(bool), maze.weights[:, 2] > 1)       # mud east


def test_hidden_cells_change_nothing_but_themselves_at_input(unlabelled):
    backbone = pt.new_backbone(unlabelled, seed=0, d_model=16, heads=2, layers=1, ff=32)
    obs = torch.as_tensor(unlabelled.encode("tokens", [0, 1]))
    hidden = torch.zeros(2, obs.shape[1], dtype=torch.bool)
    hidden[:, 3] = True
    a, b = backbone.embed(obs), backbone.embed(obs, hidden)
    changed = (a != b).any(-1)
    assert changed[:, 4].all() and changed.sum() == 2            # token 1 + cell 3, in both samples
    altered = obs.clone()
    altered[:, 3, :9] = 1 - altered[:, 3, :9]                     # the content of a hidden cell is invisible
    assert torch.allclose(backbone.embed(altered, hidden), b)


def test_pretrain_beats_its_start_and_reports_baselines(unlabelled):
    model = pt.MaskedCellModel(pt.new_backbone(unlabelled, seed=0, d_model=16, heads=2, layers=1, ff=32))
    before = pt.evaluate_pretext(model, unlabelled, "val", ratio=0.3, seed=1)
    hist = pt.pretrain(model, unlabelled, epochs=6, batch_size=16, lr=3e-3, ratio=0.3, seed=0, device="cpu")
    after = pt.evaluate_pretext(model, unlabelled, "val", ratio=0.3, seed=1)
    assert after["loss"] < before["loss"]
    assert len(hist.rows) == 6 and "acc_walls" in hist.rows[-1] and "baseline_walls" in hist.rows[-1]
    for g in pt.GROUPS:
        assert 0.5 <= after[f"baseline_{g}"] <= 1.0
    again = pt.evaluate_pretext(model, unlabelled, "val", ratio=0.3, seed=1)
    assert again == after                                          # same seed, same hidden cells


def test_fine_tune_model_copies_and_freezes(unlabelled):
    backbone = pt.new_backbone(unlabelled, seed=0, d_model=16, heads=2, layers=1, ff=32)
    probe = pt.fine_tune_model(backbone, freeze=True, seed=0)
    trainable = [n for n, p in probe.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("head.") for n in trainable)
    assert torch.equal(probe.content.weight, backbone.content.weight)
    assert probe.content.weight.data_ptr() != backbone.content.weight.data_ptr()
    full = pt.fine_tune_model(backbone, freeze=False, seed=0)
    assert all(p.requires_grad for p in full.parameters())
    data = sup.expert_data("greedy", "greedy", games=10, config="tiny", seed=2)
    before = probe.content.weight.clone()
    sup.fit(probe, data, epochs=1, train_idx=data.first_games("train", 3), seed=0, device="cpu")
    assert torch.equal(probe.content.weight, before)
