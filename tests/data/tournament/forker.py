"""A misbehaving agent for the tournament tests: starts a child process that would sleep for an hour.

It writes the child's pid to the file named by ``PYRAT_TEST_FORKER_PIDFILE`` so that the test can
check that the child was killed with the agent's process group.
"""

import os
import subprocess
import sys

from pyrat_rl.agents.scripted import GreedyAgent


class ForkerAgent(GreedyAgent):
    name = "forker"

    def start(self, ctx):
        super().start(ctx)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        path = os.environ.get("PYRAT_TEST_FORKER_PIDFILE")
        if path:
            with open(path, "a") as f:
                f.write(f"{child.pid}\n")
