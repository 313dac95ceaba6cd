"""A misbehaving agent for the tournament tests: its file fails to import."""

from pyrat_env.agent import Agent

raise RuntimeError("this submission does not even import")


class BrokenAgent(Agent):
    name = "broken"
