"""The ecosystems' conventions: the Gymnasium VectorEnv (make_vec, seeding, autoreset, infos), PettingZoo's module
layout and state, and the documented snippets of docs/environments.md (plain SB3 with the project's networks).

Gymnasium 1.x ships no checker for vector envs, so the VectorEnv is checked against Gymnasium's own
``SyncVectorEnv`` of `PyRatEnv` (same seeds, same games: every output must be equal), and through
Gymnasium's vector wrappers, which rely on its autoreset mode and info format.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

from pyrat_env.agent import Agent
from pyrat_env.envs import pettingzoo_env
from pyrat_env.envs.gym_env import PyRatEnv
from pyrat_env.envs.gym_vector_env import PyRatVectorEnv

DOC = Path(__file__).resolve().parents[1] / "docs" / "environments.md"


@pytest.fixture
def one_torch_thread():
    """Tiny networks run fastest on one thread (several threads fight over a busy machine's cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class StillAgent(Agent):
    name = "still"

    def act(self, game, seat):
        return 0


# -- the Gymnasium VectorEnv ------------------------------------------------------------------------------------
def test_make_vec_returns_the_batched_vector_env() -> None:
    envs = gym.make_vec("PyRat-Tiny-v0", 5, vectorization_mode="vector_entry_point", encoder="tokens")
    assert isinstance(envs, PyRatVectorEnv) and isinstance(envs, gym.vector.VectorEnv)
    assert type(gym.make_vec("PyRat-Tiny-v0", 2)) is PyRatVectorEnv  # the default mode for these ids
    assert isinstance(gym.make_vec("PyRat-Tiny-v0", 2, vectorization_mode="sync"), gym.vector.SyncVectorEnv)
    assert envs.num_envs == 5 and envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert envs.single_observation_space == PyRatEnv(preset="tiny", encoder="tokens").observation_space
    assert envs.observation_space.shape == (5, 35, 20) and envs.single_action_space == gym.spaces.Discrete(5)
    assert envs.action_space == gym.spaces.MultiDiscrete([5] * 5)
    obs, infos = envs.reset(seed=0)
    assert envs.observation_space.contains(obs)
    assert infos["action_mask"].shape == (5, 5) and infos["_action_mask"].all() and infos["_seat"].all()
    obs, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())
    assert envs.observation_space.contains(obs)
    assert rewards.dtype == np.float64 and terminated.dtype == truncated.dtype == np.bool_
    np.testing.assert_array_equal(infos["action_mask"], envs.action_masks())
    with pytest.raises(ValueError):
        envs.step(np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError):
        envs.reset(options={"seat": 1})
    with pytest.raises(ValueError):
        PyRatVectorEnv(2, autoreset_mode=AutoresetMode.DISABLED)
    envs.close()
    assert envs.closed and envs.batch is None


def _sync(n: int, mode: AutoresetMode = AutoresetMode.NEXT_STEP, **kwargs) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv([lambda: PyRatEnv(mask_in_info=True, **kwargs) for _ in range(n)],
                                    autoreset_mode=mode)


def _same_results(ours: dict, theirs: dict) -> None:
    """``result`` infos: ours has ``scores`` as a [n, 2] array, the SyncVectorEnv an object array of lists."""
    mask = theirs["_scores"]
    np.testing.assert_array_equal(ours["_scores"], mask)
    np.testing.assert_array_equal(ours["scores"][mask], np.array(list(theirs["scores"][mask]), dtype=float))
    for key in ("outcome", "turns", "reason", "_outcome", "_turns", "_reason"):
        np.testing.assert_array_equal(ours[key], theirs[key])


@pytest.mark.parametrize(("encoder", "reward", "opponent"), [("planes", "score_diff", "greedy"),
                                                            ("flat", "sparse", "greedy"),
                                                            ("tokens", "score", "still")])
def test_same_games_as_a_sync_vector_env_next_step(encoder: str, reward: str, opponent: str) -> None:
    """Same seed, same actions: every observation, reward, end and info equals that of Gymnasium's SyncVectorEnv
    over PyRatEnv (games ending by the rules and by the turn limit, both autoreset at the next step)."""
    n = 8
    opp = StillAgent() if opponent == "still" else opponent
    kw = dict(preset="tiny", seat="random", opponent=opp, encoder=encoder, reward=reward, max_turns=9)
    ours, theirs = PyRatVectorEnv(n, **kw), _sync(n, **kw)
    obs, infos = ours.reset(seed=7)
    obs2, infos2 = theirs.reset(seed=7)
    np.testing.assert_array_equal(obs, obs2)
    assert data_equivalence(infos, infos2, exact=True)
    assert set(infos["seat"].tolist()) == {0, 1}
    rng = np.random.default_rng(0)
    ends = {"terminated": 0, "truncated": 0, "restarts": 0}
    for _ in range(60):
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in infos["action_mask"]])
        out, out2 = ours.step(actions), theirs.step(actions)
        for a, b in zip(out[:4], out2[:4]):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
        infos, infos2 = dict(out[4]), dict(out2[4])
        assert ("result" in infos) == ("result" in infos2)
        if "result" in infos:
            _same_results(infos.pop("result"), infos2.pop("result"))
        assert data_equivalence(infos, infos2, exact=True)
        ends["terminated"] += int(out[2].sum())
        ends["truncated"] += int(out[3].sum())
        ends["restarts"] += int(infos.get("_seat", np.zeros(n, bool)).sum())
    assert ends["truncated"] >= 1 and ends["restarts"] >= n
    assert ends["terminated"] >= 1 or opponent == "still"  # greedy eats tiny mazes' cheese within the limit


def test_same_games_as_a_sync_vector_env_same_step() -> None:
    n = 6
    kw = dict(preset="tiny", seat="random", opponent="greedy", encoder="flat", max_turns=7)
    ours = PyRatVectorEnv(n, autoreset_mode="SameStep", **kw)
    theirs = _sync(n, AutoresetMode.SAME_STEP, **kw)
    assert ours.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    seeds = [11, None, 3, 4, 5, 6]
    np.testing.assert_array_equal(ours.reset(seed=[11, 2, 3, 4, 5, 6])[0], theirs.reset(seed=[11, 2, 3, 4, 5, 6])[0])
    ours.reset(seed=seeds)  # None: that slot keeps drawing from its generator, in both
    theirs.reset(seed=seeds)
    rng = np.random.default_rng(1)
    finals = 0
    for _ in range(30):
        actions = rng.integers(0, 5, n)
        out, out2 = ours.step(actions), theirs.step(actions)
        for a, b in zip(out[:4], out2[:4]):
            np.testing.assert_array_equal(a, b)
        infos, infos2 = out[4], out2[4]
        assert ("final_obs" in infos) == ("final_obs" in infos2)
        if "final_obs" in infos:
            mask = infos2["_final_obs"]
            np.testing.assert_array_equal(infos["_final_obs"], mask)
            for i in np.flatnonzero(mask):
                np.testing.assert_array_equal(infos["final_obs"][i], infos2["final_obs"][i])
                assert not np.array_equal(infos["final_obs"][i], out[0][i])  # the new game is returned
            _same_results(infos["final_info"]["result"], infos2["final_info"]["result"])
            for key in ("seat", "game_seed", "_seat", "_game_seed"):
                np.testing.assert_array_equal(infos[key], infos2[key])
            finals += int(mask.sum())
    assert finals >= n


def test_seeding_through_reset() -> None:
    def trajectory(seed, opponent="random"):
        envs = PyRatVectorEnv(4, preset="tiny", opponent=opponent, seat="random")
        out = [envs.reset(seed=seed)[0]]
        rng = np.random.default_rng(0)
        for _ in range(25):
            out.append(envs.step(rng.integers(0, 5, 4))[0])
        return np.stack(out)

    # the random opponent plays from a generator seeded by the same seed
    np.testing.assert_array_equal(trajectory(1), trajectory(1))
    assert not np.array_equal(trajectory(1), trajectory(2))
    envs = PyRatVectorEnv(3, preset="tiny")
    first = envs.reset(seed=5)[0]
    assert not np.array_equal(envs.reset()[0], first)  # no seed: the slots go on to new games
    np.testing.assert_array_equal(envs.reset(seed=5)[0], first)
    assert envs.np_random_seed == 5
    with pytest.raises(ValueError):
        envs.reset(seed=[1, 2])


def test_gymnasium_vector_wrappers() -> None:
    """RecordEpisodeStatistics reads the autoreset mode from the metadata; its returns are the sums of rewards."""
    envs = gym.wrappers.vector.RecordEpisodeStatistics(PyRatVectorEnv(4, preset="tiny", opponent="greedy"))
    envs.reset(seed=0)
    returns = np.zeros(4)
    lengths = np.zeros(4, dtype=int)
    seen = 0
    for _ in range(120):
        _, rewards, terminated, truncated, infos = envs.step(np.zeros(4, dtype=np.int64))
        returns += rewards
        lengths += 1
        if "episode" in infos:
            done = infos["_episode"]
            np.testing.assert_allclose(infos["episode"]["r"][done], returns[done])
            np.testing.assert_array_equal(infos["episode"]["l"][done], lengths[done])
            np.testing.assert_array_equal(infos["episode"]["l"][done], infos["result"]["turns"][done])
            seen += int(done.sum())
        # next-step autoreset: the step after an end starts the new game and counts in no episode
        over = terminated | truncated
        returns[over] = 0.0
        lengths[over] = -1
    assert seen >= 4
    listed = gym.wrappers.vector.DictInfoToList(PyRatVectorEnv(2, preset="tiny"))
    _, infos = listed.reset(seed=0)
    assert [sorted(i) for i in infos] == [["action_mask", "game_seed", "seat"]] * 2


def test_policy_opponent_and_render() -> None:
    calls = []

    def north(obs, masks):
        calls.append(obs.shape)
        return np.where(masks[:, 1], 1, 0)

    envs = PyRatVectorEnv(3, preset="tiny", encoder="flat", opponent=north, render_mode="ansi")
    envs.reset(seed=0)
    envs.step(np.zeros(3, dtype=np.int64))
    assert calls == [(3, 14 * 35 + 4)]  # one call over the whole batch
    frames = envs.render()
    assert len(frames) == 3 and all("learner" in f for f in frames)
    envs.set_opponent("greedy")
    envs.step(np.zeros(3, dtype=np.int64))
    assert len(calls) == 1


# -- PettingZoo -----------------------------------------------------------------------------------------------
def test_pettingzoo_module_layout() -> None:
    from pettingzoo import AECEnv, ParallelEnv
    from pettingzoo.utils.wrappers import AssertOutOfBoundsWrapper, OrderEnforcingWrapper

    import pyrat_env

    assert isinstance(pettingzoo_env.parallel_env(preset="tiny"), ParallelEnv)
    assert isinstance(pettingzoo_env.raw_env(preset="tiny"), AECEnv)
    env = pettingzoo_env.env(preset="tiny")
    assert isinstance(env, OrderEnforcingWrapper) and isinstance(env.env, AssertOutOfBoundsWrapper)
    assert pyrat_env.aec_env is pettingzoo_env.raw_env and pyrat_env.parallel_env is pettingzoo_env.parallel_env
    env.reset(seed=0)
    with pytest.raises(AssertionError, match="action space"):
        env.step(7)


@pytest.mark.parametrize("preset", ["tiny", "official"])
def test_pettingzoo_state_and_api_tests(preset: str) -> None:
    from pettingzoo.test import api_test, parallel_api_test, state_test

    par = pettingzoo_env.parallel_env(preset=preset)
    assert par.state_space == par.observation_space("player_0")["observation"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state_test(pettingzoo_env.env(preset=preset), pettingzoo_env.parallel_env(preset=preset), num_cycles=300)
    assert [str(w.message) for w in caught if "state" in str(w.message).lower()] == []
    par.reset(seed=1)
    state = par.state()
    assert par.state_space.contains(state)
    np.testing.assert_array_equal(state, par.encoder.encode(par.game, 0, False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dict observations: PettingZoo suggests Box or Discrete
        api_test(pettingzoo_env.env(preset=preset), num_cycles=100)
    parallel_api_test(pettingzoo_env.parallel_env(preset=preset), num_cycles=100)


# -- the documented snippets ------------------------------------------------------------------------------------
def doc_snippets(tag: str) -> list[str]:
    """The python blocks of docs/environments.md that follow a ``<!-- test: tag -->`` line."""
    text = DOC.read_text(encoding="utf-8")
    return re.findall(r"<!-- test: " + re.escape(tag) + r" -->\s*```python\n(.*?)```", text, flags=re.S)


def test_documented_gymnasium_snippets_run() -> None:
    snippets = doc_snippets("gymnasium")
    assert len(snippets) == 4
    spaces = []
    for code in snippets:
        namespace: dict = {}
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
        spaces.append(namespace)
    single, registered, vector, pz = spaces
    assert single["info"]["result"]["reason"] in ("terminated", "max_turns")  # a whole game was played
    assert registered["masks"].shape == (5,) and registered["masks"][0]
    assert isinstance(vector["envs"], PyRatVectorEnv) and vector["envs"].num_envs == 16
    assert pz["state"].shape == (18, 5, 7) and not pz["env"].agents


def test_documented_sb3_snippets_run(one_torch_thread) -> None:
    snippets = doc_snippets("sb3")
    assert len(snippets) >= 2
    for code in snippets:
        namespace: dict = {}
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
        model = namespace["model"]
        assert model.num_timesteps >= 512
        assert type(model.policy.features_extractor).__name__ in ("MlpNet", "CnnNet", "TransformerNet")
