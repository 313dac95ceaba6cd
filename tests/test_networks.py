"""The policy networks: each builds on its encoder's observations, runs forward and backward, reports its size."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from pyrat_rl.agents.networks import (  # noqa: E402
    NETWORKS,
    count_parameters,
    describe,
    encoder_for,
    make_extractor,
    net_kwargs_for,
    policy_kwargs,
)

from pyrat_env.encoders import make_encoder  # noqa: E402
from pyrat_env.mazes import new_game  # noqa: E402


def _obs(name: str, preset: str, n: int = 3) -> tuple[np.ndarray, object]:
    enc = make_encoder(encoder_for(name))
    setups = [new_game(preset, seed) for seed in range(n)]
    obs = np.stack([enc.encode(s.game(), 0) for s in setups])
    return obs, enc.space(setups[0].maze.width, setups[0].maze.height)


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("preset", ["official", "tiny"])
def test_forward_backward(name, preset):
    torch.manual_seed(0)
    obs, space = _obs(name, preset)
    net = make_extractor(name, space)
    x = torch.as_tensor(obs)
    out = net(x)
    assert out.shape == (len(obs), net.features_dim)
    assert torch.isfinite(out).all()
    out.sum().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert count_parameters(net) > 1000


@pytest.mark.parametrize("name", list(NETWORKS))
def test_policy_with_masks_and_description(name):
    from gymnasium import spaces
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

    obs, space = _obs(name, "official")
    policy = MaskableActorCriticPolicy(space, spaces.Discrete(5), lambda _: 1e-3, **policy_kwargs(name))
    masks = np.zeros((len(obs), 5), dtype=bool)
    masks[:, 0] = True
    masks[:, 2] = True
    actions, _ = policy.predict(obs, action_masks=masks, deterministic=False)
    assert set(np.asarray(actions).tolist()) <= {0, 2}
    line = describe(policy, name)
    assert name in line and "parameters" in line
    assert f"{count_parameters(policy):,}" in line


def test_player_position_matters():
    """The CNN and transformer read features at the acting player's cell: moving it changes the output."""
    for name in ("cnn", "transformer"):
        torch.manual_seed(1)
        setup = new_game("official", 3)
        enc = make_encoder(encoder_for(name))
        game = setup.game()
        a = enc.encode(game, 0)
        game.pos[0] = int(setup.maze.existing_cells()[0])
        b = enc.encode(game, 0)
        net = make_extractor(name, enc.space(15, 13))
        with torch.no_grad():
            fa, fb = net(torch.as_tensor(a[None])), net(torch.as_tensor(b[None]))
        assert not torch.allclose(fa, fb)


def test_options_and_errors():
    assert net_kwargs_for("cnn", {"hidden": 64})["hidden"] == 64
    _, space = _obs("cnn", "official", 1)
    small = make_extractor("cnn", space, {"channels": [8, 8, 8], "hidden": 32})
    assert small.features_dim == 32
    assert count_parameters(small) < count_parameters(make_extractor("cnn", space))
    with pytest.raises(ValueError, match="unknown policy network"):
        encoder_for("resnet")
    _, flat_space = _obs("mlp", "official", 1)
    with pytest.raises(ValueError):
        make_extractor("cnn", flat_space)


@pytest.mark.parametrize("preset", ["official", "tiny"])
def test_planner_travel_times_and_first_moves(preset):
    """MazePlanner's planes agree with the engine's distances and fastest first moves (rotated views too)."""
    from pyrat_rl.agents.networks import MazePlanner

    from pyrat_env.paths import distance_matrix, first_moves_towards

    enc = make_encoder("planes")
    obs, cases = [], []
    for seed in range(6):
        setup = new_game(preset, seed)
        game = setup.game()
        game.step([0, 0])
        rng = np.random.default_rng(seed)
        for _ in range(int(rng.integers(0, 25))):
            if game.over:
                break
            game.step([int(a) for a in rng.integers(0, 5, 2)])
        for seat in (0, 1):
            rot = setup.config.symmetric and seat == 1
            obs.append(enc.encode(game, seat, rot))
            cases.append((game.copy(), seat, rot))
    planner = MazePlanner(*obs[0].shape[1:])
    out = planner(torch.as_tensor(np.stack(obs))).numpy()
    rotated = (0, 3, 4, 1, 2)
    for k, (game, seat, rot) in enumerate(cases):
        maze, n = game.maze, game.maze.n_cells
        dist = distance_matrix(maze)
        start = game.pos[seat] if game.mud_target[seat] is None else game.mud_target[seat]
        wait = 0 if game.mud_target[seat] is None else game.mud_count[seat]
        for c in maze.existing_cells().tolist():
            v = n - 1 - c if rot else c
            assert out[k, 0].reshape(-1)[v] == pytest.approx(min((dist[start, c] + wait) / planner.scale, 1.0))
            got = [a + 1 for a in range(4) if out[k, 3 + a].reshape(-1)[v] > 0]
            if rot:
                got = sorted(rotated[a] for a in got)
            assert got == (first_moves_towards(maze, start, c) if c != start else [])


@pytest.mark.parametrize("patch", [1, 2, 3])
@pytest.mark.parametrize("preset", ["official", "tiny"])
def test_transformer_patches(patch, preset):
    """Tokens of patch x patch cells: any grid (padded with holes), the acting player's token found."""
    from pyrat_rl.agents.networks import TransformerNet

    torch.manual_seed(0)
    obs, space = _obs("transformer", preset)
    net = TransformerNet(space, d_model=16, heads=2, layers=1, ff=32, patch=patch)
    x = torch.as_tensor(obs)
    out = net(x)
    assert out.shape == (len(obs), net.features_dim) and torch.isfinite(out).all()
    h, w, hp, wp, pad, centres = net._grid(x)
    n_cells = obs.shape[1]
    assert h * w == n_cells and hp % patch == 0 and wp % patch == 0 and hp - h < patch and wp - w < patch
    assert len(centres) == (hp // patch) * (wp // patch)
    assert float(pad.sum()) == hp * wp - n_cells
    assert centres.min() >= 0 and centres.max() <= 1.0 + (patch - 1) / max(h - 1, 1)


def test_distance_store_keys_by_maze():
    """Identical mazes share a slot, different mazes get their own, evicted mazes are computed again."""
    from pyrat_rl.agents.networks import _CODE_CHANNELS, _DistanceStore, _maze_distances

    enc = make_encoder("planes")
    obs = [enc.encode(new_game("tiny", seed).game(), 0) for seed in range(4)]
    h, w = obs[0].shape[1:]
    codes = np.stack([np.rint(o[:_CODE_CHANNELS].reshape(_CODE_CHANNELS, -1) * 10).astype(np.uint8) for o in obs])
    codes[:, :4] = codes[:, :4] > 0
    store = _DistanceStore(h, w)
    store.slots = 2                                   # tiny store: forces eviction and growth
    store.data = store.data[:2]
    batch = codes[[0, 1, 0, 2, 1, 0]]
    slots = store.lookup(batch)
    assert slots[0] == slots[2] == slots[5] and slots[1] == slots[4]
    assert len({int(slots[0]), int(slots[1]), int(slots[3])}) == 3   # grown for a batch of 3 mazes
    for i, s in enumerate(slots):
        np.testing.assert_array_equal(store.data[s], _maze_distances(batch[i], h, w))
    again = store.lookup(codes[[3]])                  # a 4th maze evicts the least recently used one
    np.testing.assert_array_equal(store.data[again[0]], _maze_distances(codes[3], h, w))
    assert len(set(store.hashes(codes).tolist())) == 4


def test_reserved_distance_cache_keeps_every_maze(monkeypatch):
    """Once reserved for N mazes, the cache computes each of N mazes once, however often they come back."""
    import pyrat_rl.agents.networks as networks

    enc = make_encoder("planes")
    obs = [enc.encode(new_game("tiny", seed).game(), 0) for seed in range(6)]
    h, w = obs[0].shape[1:]
    codes = np.stack([np.rint(o[:networks._CODE_CHANNELS].reshape(networks._CODE_CHANNELS, -1) * 10)
                      .astype(np.uint8) for o in obs])
    codes[:, :4] = codes[:, :4] > 0
    monkeypatch.setattr(networks, "_STORES", {})
    store = networks._DistanceStore(h, w)
    store.slots, store.data = 2, store.data[:2]       # a small cache, as a large maze's default one is
    networks._STORES[(h, w)] = store
    calls = []
    real = networks._maze_distances
    monkeypatch.setattr(networks, "_maze_distances", lambda *a: calls.append(1) or real(*a))
    for _ in range(3):                                # too small: the 6 mazes are computed again each pass
        for i in range(6):
            store.lookup(codes[[i]])
    assert len(calls) == 18
    assert networks.reserve_distance_cache(h, w, 6) == 6 and networks._STORES[(h, w)] is store
    calls.clear()
    for _ in range(3):
        for i in range(6):
            slot = store.lookup(codes[[i]])
            np.testing.assert_array_equal(store.data[slot[0]], real(codes[i], h, w))
    assert len(calls) == 4              # once each, in the first pass, but for the 2 mazes the cache still held
    assert networks.reserve_distance_cache(h, w, 1000, max_bytes=h * w * h * w * 2 * 8) == 8   # capped by bytes


@pytest.mark.parametrize("kind", ["linear", "mlp", "cnn", "transformer"])
@pytest.mark.parametrize("preset", ["official", "tiny"])
def test_classifiers_read_their_encoder_and_rebuild_from_spec(kind, preset):
    """The course classifiers (the classifier head of the one network family): 5 logits from their encoder's
    observations, and the same module again from ``spec`` alone (what a checkpoint stores)."""
    from pyrat_rl.agents.networks import CLASSIFIERS, classifier_encoder, make_classifier

    enc = make_encoder(classifier_encoder(kind))
    setups = [new_game(preset, seed) for seed in range(3)]
    x = torch.as_tensor(np.stack([enc.encode(s.game(), 0) for s in setups]))
    model = make_classifier(kind, x.shape[1:], seed=0).eval()
    assert isinstance(model, CLASSIFIERS[kind][0]) and model.encoder_name == enc.name
    out = model(x)
    assert out.shape == (3, 5) and torch.isfinite(out).all()
    again = make_classifier(model.spec["kind"], model.spec["obs_shape"], seed=0, **model.spec["kwargs"]).eval()
    assert torch.equal(again(x), out)


def test_unknown_classifier():
    from pyrat_rl.agents.networks import make_classifier

    with pytest.raises(ValueError, match="unknown classifier"):
        make_classifier("resnet", (10,))


# -- one network for every maze size -------------------------------------------------------------------------
SIZES = ("tiny", "official", "classic", "tournament")


def _played(preset: str, seed: int = 0, turns: int = 6) -> tuple[np.ndarray, object]:
    """Both seats' ``planes`` observations a few random turns into a game of ``preset`` (seat 1 rotated)."""
    setup = new_game(preset, seed)
    game = setup.game()
    game.step([0, 0])
    rng = np.random.default_rng(seed)
    for _ in range(turns):
        if not game.over:
            game.step([int(a) for a in rng.integers(0, 5, 2)])
    enc = make_encoder("planes")
    return np.stack([enc.encode(game, 0), enc.encode(game, 1, True)]), game


def test_only_the_fcn_plays_every_size():
    from pyrat_rl.agents.networks import size_free

    assert [n for n in NETWORKS if size_free(n)] == ["fcn"]
    assert encoder_for("fcn") == "planes"


def test_fcn_same_weights_on_every_size_and_padding_changes_nothing():
    """One FcnNet (built for the official size) runs on every preset's observations; an observation padded to a
    larger grid with holes gives the same features (so PPO can train on padded batches of several sizes)."""
    from pyrat_rl.agents.networks import pad_planes

    torch.manual_seed(0)
    _, space = _obs("fcn", "official", 1)
    net = make_extractor("fcn", space).eval()
    outs = []
    for preset in SIZES:
        obs, _ = _played(preset)
        with torch.no_grad():
            out = net(torch.as_tensor(obs))
            padded = net(torch.as_tensor(pad_planes(obs, 23, 29)))
        assert out.shape == (2, net.features_dim) and torch.isfinite(out).all()
        torch.testing.assert_close(padded, out, atol=1e-5, rtol=1e-5)
        outs.append(out)
    assert not torch.allclose(outs[1], outs[3])          # it does read the maze


def test_fcn_reads_the_player_cell():
    torch.manual_seed(1)
    obs, game = _played("classic", seed=2, turns=0)
    other = obs.copy()
    cell = int(game.maze.existing_cells()[5])
    other[:, 10] = 0.0
    other[:, 10].reshape(2, -1)[:, cell] = 1.0            # the acting player moved elsewhere
    net = make_extractor("fcn", make_encoder("planes").space(21, 15))
    with torch.no_grad():
        assert not torch.allclose(net(torch.as_tensor(obs)), net(torch.as_tensor(other)))


def test_pad_planes_adds_holes():
    from pyrat_rl.agents.networks import pad_planes

    obs, _ = _played("tiny")
    big = pad_planes(obs, 7, 9)
    assert big.shape == (2, 18, 7, 9)
    np.testing.assert_array_equal(big[..., :5, :7], obs)
    pad = np.ones((7, 9), dtype=bool)
    pad[:5, :7] = False
    assert (big[:, :4][..., pad] == 1).all() and (big[:, 8][..., pad] == 1).all()     # walls all round, a hole
    assert (big[:, 9:14][..., pad] == 0).all()                                        # no cheese, no player
    np.testing.assert_array_equal(big[:, 14:, -1, -1], obs[:, 14:, 0, 0])             # the globals extended
    assert pad_planes(obs, 5, 7) is obs
    with pytest.raises(ValueError, match="cannot pad"):
        pad_planes(obs, 4, 9)


def test_planner_scale_is_fixed_for_the_fcn():
    """CnnNet's planner scales travel times by its own 2 (H + W); the FCN's by one number on every size."""
    from pyrat_rl.agents.networks import FcnNet, MazePlanner

    obs, _ = _played("tournament")
    x = torch.as_tensor(obs)
    assert MazePlanner(20, 25).scale == 90.0
    fixed = MazePlanner(1, 1, scale=100.0)(x)[:, 0].numpy()          # the size comes from the observations
    own = MazePlanner(20, 25)(x)[:, 0].numpy()
    near = own < 1.0                                                     # reachable within 90 turns: not clipped
    assert fixed.shape == own.shape == (2, 20, 25) and near.sum() > 100
    np.testing.assert_allclose(fixed[near] * 100.0, own[near] * 90.0, atol=1e-3)
    net = FcnNet(make_encoder("planes").space(15, 13), plan_scale=64.0)
    assert net.planner.scale == 64.0
