"""A misbehaving agent for the tournament tests: starts a child process that would sleep for an hour.

The child's command line carries this file's name (``forker_<token>.py`` in the test's copy), so that the test
finds it among the machine's processes and checks that it was killed with the agent's game.
"""

import subprocess
import sys
from pathlib import Path

from pyrat_rl.agents.scripted import GreedyAgent


class ForkerAgent(GreedyAgent):
    name = "forker"

    def start(self, ctx):
        super().start(ctx)
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", Path(__file__).stem])
