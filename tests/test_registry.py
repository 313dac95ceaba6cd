"""pyrat_env.registry: names that higher layers provide reach the envs and the CLI through entry points.

The envs never import the agents package; ``opponent="search"`` or a checkpoint path still works because
pyrat-rl declares its resolver as an entry point, and the ``pyrat`` subcommands come the same way.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import pyrat_env
from pyrat_env import registry
from pyrat_env.agent import Agent

ROOT_SHIPPED = str(Path(__file__).resolve().parents[1] / "agents" / "shipped")


def _steps(env, n: int = 5) -> int:
    _, info = env.reset(seed=3)
    done, k = False, 0
    while not done and k < n:
        mask = env.unwrapped.action_masks()
        _, _, term, trunc, _ = env.step(int(np.flatnonzero(mask)[-1]))
        done, k = term or trunc, k + 1
    return k


@pytest.mark.parametrize("opponent", ["search", "cnn_planner", f"{ROOT_SHIPPED}/fcn_search.pt"])
def test_gym_make_with_named_and_checkpoint_opponents(opponent):
    gym.register_envs(pyrat_env)
    env = gym.make("pyrat_env:PyRat-v0", opponent=opponent)
    assert _steps(env) > 0
    opp = env.unwrapped.opponent
    assert isinstance(opp, Agent) and type(opp).__module__.startswith("pyrat_rl.agents")


def test_declared_entry_points():
    assert set(registry.names(registry.COMMANDS)) >= {"play", "agents", "compat", "watch", "bench", "train",
                                                      "tournament", "ladder"}
    assert registry.names(registry.AGENT_RESOLVERS)[0] == "pyrat_rl"
    assert registry.target(registry.COMMANDS, "train") == "pyrat_rl.train.cli"
    assert registry.summary(registry.COMMANDS, "play")  # read from the source, without importing it


def test_run_time_registration_takes_precedence_and_unknown_names_say_so():
    class Still(Agent):
        name = "still"

        def act(self, game, seat):
            return 0

    def resolver(spec):
        return (lambda: Still()), "still", str(spec)

    registry.register(registry.AGENT_RESOLVERS, "aaa_test", resolver)
    try:
        assert registry.names(registry.AGENT_RESOLVERS)[0] == "aaa_test"
        assert isinstance(registry.resolve_agent("anything"), Still)
    finally:
        registry.unregister(registry.AGENT_RESOLVERS, "aaa_test")
    assert not isinstance(registry.resolve_agent("greedy"), Still)
    with pytest.raises(registry.RegistryError, match="nothing named 'nope'"):
        registry.load(registry.COMMANDS, "nope")
