"""One CLI: every command's user errors are one line and exit status 2, shared options are checked alike,
help defaults come from the config dataclasses, and ``play`` and ``tournament`` name agents the same way."""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyrat_env import cli_options as opt
from pyrat_env.cli import main

PLAYERS = Path(__file__).parent / "data" / "players"
# a nonexistent path inside the test's tmp_path: "{tmp}/..." in the table below
MISSING = "{tmp}/no_such"


@pytest.fixture
def no_heavy_work(monkeypatch):
    """Training, tournaments and exports fail the test if they start: every check must come first."""
    import pyrat_rl.agents.policy_agent as policy_agent
    import pyrat_rl.agents.tournament.runner as runner
    import pyrat_rl.train.evaluate as evaluate
    import pyrat_rl.train.imitation as imitation
    import pyrat_rl.train.ppo as ppo

    for module, name in ((ppo, "train_ppo"), (imitation, "train_imitation"), (evaluate, "evaluate"),
                         (runner, "run_tournament"), (policy_agent, "export_checkpoint")):
        @functools.wraps(getattr(module, name))   # the same signature: help texts read its defaults
        def heavy(*_, **__):
            raise AssertionError("heavy work started before the options were checked")

        monkeypatch.setattr(module, name, heavy)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


USER_ERRORS = [
    # play
    (["play", "greedy", "random", "--preset", "nope"], "unknown preset 'nope'"),
    (["play", "greedy", "random", "--seed", "-1"], "seed is a whole number >= 0"),
    (["play", "greedy", "random", "--seed", "x"], "seed is a whole number >= 0"),
    (["play", "nobody", "greedy"], "unknown agent 'nobody'"),
    (["play", f"{MISSING}.py", "greedy"], "does not exist"),
    (["play", f"{MISSING}.zip", "greedy"], "does not exist"),
    (["play", "=greedy", "random"], "bad agent name ''"),
    (["play", "my bot=greedy", "random"], "bad agent name 'my bot'"),
    (["play", "alice=", "random"], "no agent spec after 'alice='"),
    (["play", "a=greedy", "a=random"], "agent name 'a' is used twice"),
    (["play", "greedy", "random", "--max-turns", "-3"], "--max-turns: must be at least 0"),
    (["play", "greedy", "random", "--max-turns", "ten"], "--max-turns: expected a whole number"),
    (["play", "greedy", "random", "--games", "0"], "--games/-n: must be at least 1"),
    (["play", "greedy"], "has 2 players; give 2 agents (got 1)"),
    (["play", "greedy", "random", "--maze", f"{MISSING}.json"], "no such file"),
    (["play", "greedy", "random", "--turn-time", "-1"], "a time limit must be >= 0"),
    # tournament
    (["tournament", "run", "--agents", "greedy", "random", "--preset", "nope"], "unknown preset 'nope'"),
    (["tournament", "run", "--agents", "greedy", "random", "--seed", "-5"], "seed is a whole number >= 0"),
    (["tournament", "run", "--agents", "nobody", "greedy", "--db", "{tmp}/t.sqlite"], "unknown agent 'nobody'"),
    (["tournament", "run", "--agents", f"{MISSING}.py", "greedy", "--db", "{tmp}/t.sqlite"], "does not exist"),
    (["tournament", "run", "--agents", "=x", "greedy"], "bad agent name ''"),
    (["tournament", "run", "--agents", "a=greedy", "a=random", "--db", "{tmp}/t.sqlite"], "'a' is used twice"),
    (["tournament", "run", "--agents", "greedy", "random", "--max-turns", "-1"], "--max-turns: must be at least 0"),
    (["tournament", "run", "--agents", "greedy", "random", "--games-per-pair", "3", "--db", "{tmp}/t.sqlite"],
     "games_per_pair must be even"),
    (["tournament", "run", "--config", f"{MISSING}.toml"], "no_such.toml: No such file or directory"),
    (["tournament", "run", "--db", "{tmp}/t.sqlite"], "no agents"),
    (["tournament", "standings", "--db", f"{MISSING}.sqlite"], "no such database"),
    (["tournament"], "the following arguments are required"),
    # train
    (["train", "ppo", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "ppo", "--seed", "-1"], "seed is a whole number >= 0"),
    (["train", "ppo", "--device", "gpu"], "unknown device 'gpu'; use cpu, cuda, cuda:N or auto"),
    (["train", "ppo", "--device", "cuda:x"], "unknown device 'cuda:x'"),
    (["train", "ppo", "--opponent", "nobody", "--out", "{tmp}/run"], "--opponent: unknown agent 'nobody'"),
    (["train", "ppo", "--opponent", "greedy:1,nobody:2", "--out", "{tmp}/run"], "unknown agent 'nobody'"),
    (["train", "ppo", "--opponent", "greedy:-1", "--out", "{tmp}/run"], "negative weight"),
    (["train", "ppo", "--eval-opponents", "greedy,nobody", "--out", "{tmp}/run"], "--eval-opponents: unknown agent"),
    (["train", "ppo", "--resume", "--out", f"{MISSING}_run"], "--resume: "),
    (["train", "ppo", "--init", f"{MISSING}.pt", "--out", "{tmp}/run"], "--init: "),
    (["train", "ppo", "--init", "notes.txt", "--out", "{tmp}/run"], "is not a .pt or .zip checkpoint"),
    (["train", "ppo", "--net", '{"bogus": 1}', "--out", "{tmp}/run"], "--net: cnn has no option 'bogus'"),
    (["train", "ppo", "--net", "[1]"], "expected a JSON object"),
    (["train", "ppo", "--net", "{oops"], "not JSON"),
    (["train", "ppo", "--timesteps", "0"], "--timesteps: must be at least 1"),
    (["train", "ppo", "--policy", "resnet"], "invalid choice: 'resnet'"),
    (["train", "imitate", "--expert", "nobody", "--out", "{tmp}/run"], "--expert: unknown agent 'nobody'"),
    (["train", "imitate", "--opponents", "expert:1,ghost", "--out", "{tmp}/run"], "--opponents: unknown agent"),
    (["train", "imitate", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "eval", "nobody", "greedy"], "unknown agent 'nobody'"),
    (["train", "eval", f"{MISSING}.zip", "greedy"], "does not exist"),
    (["train", "eval", "greedy", "random", "--games", "3"], "an even number of games"),
    (["train", "eval", "greedy", "random", "--max-turns", "-1"], "--max-turns: must be at least 0"),
    (["train", "export", f"{MISSING}.zip", "{tmp}/out.pt"], "does not exist"),
    (["train", "export", f"{MISSING}.zip", "{tmp}/out.txt"], "does not exist"),
    (["train"], "the following arguments are required"),
    # watch, compat, bench, agents
    (["watch", f"{MISSING}.json.gz"], "no_such.json.gz"),
    (["watch", f"{MISSING}.json.gz", "--speed", "0"], "--speed: must be positive"),
    (["compat", "check", f"{MISSING}.json"], "no_such.json: no such file"),
    (["compat", "check", f"{MISSING}.json", f"{MISSING}2.json"], "(and 1 more)"),
    (["bench", "--bogus"], "unrecognized arguments: --bogus"),
    (["agents", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv,message", USER_ERRORS, ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_every_user_error_is_one_line_and_exit_status_2(argv, message, tmp_path, capsys, no_heavy_work,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)   # nothing a failed command might write lands in the repository
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"pyrat {argv[0]}") and ": error: " in lines[0], err
    assert message in lines[0], err
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "run").exists() and not (tmp_path / "t.sqlite").exists()


def test_cuda_without_a_cuda_device_is_a_user_error(tmp_path, capsys, no_heavy_work):
    if _cuda():
        pytest.skip("this machine has a CUDA device")
    assert main(["train", "ppo", "--device", "cuda", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device cuda: no CUDA device here" in err


def _pyrat() -> list[str]:
    exe = shutil.which("pyrat")
    return [exe] if exe else [sys.executable, "-m", "pyrat_env.cli"]


@pytest.mark.parametrize("argv,message", [
    (["train", "ppo", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "ppo", "--resume", "--out", "no_such_run"], "--resume: no_such_run holds no run to resume"),
    (["play", "nobody", "greedy"], "unknown agent 'nobody'"),
])
def test_the_installed_command_exits_2_with_one_line(argv, message, tmp_path):
    proc = subprocess.run([*_pyrat(), *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == "" and not list(tmp_path.iterdir())


# -- shared options --------------------------------------------------------------------------------------------
def _parser() -> opt.ArgumentParser:
    p = opt.ArgumentParser(prog="pyrat test")
    opt.add_preset(p, "official")
    opt.add_seed(p, 0, "seed")
    opt.add_device(p, "cpu")
    opt.add_max_turns(p, 1000)
    return p


@pytest.mark.parametrize("argv,expected", [
    ([], {"preset": "official", "seed": 0, "device": "cpu", "max_turns": 1000}),
    (["--preset", "tiny", "--seed", "7", "--device", "cuda:1", "--max-turns", "0"],
     {"preset": "tiny", "seed": 7, "device": "cuda:1", "max_turns": 0}),
    (["--device", "auto"], {"device": "auto"}),
])
def test_shared_options_parse(argv, expected):
    args = vars(_parser().parse_args(argv))
    assert {k: args[k] for k in expected} == expected


def test_shared_options_fail_on_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        _parser().parse_args(["--seed", "-2"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == "pyrat test: error: argument --seed: a seed is a whole number >= 0, got -2 " \
                  "(see 'pyrat test --help')\n"


def test_user_errors_turns_chosen_exceptions_into_one_line():
    from pyrat_env.cli_options import UsageError

    with pytest.raises(UsageError, match=r"^first second$"):
        with opt.user_errors(ValueError):
            raise ValueError("first\n  second")
    with pytest.raises(UsageError, match=r"^/nowhere/x: No such file or directory$"):
        with opt.user_errors(OSError):
            open("/nowhere/x")
    with pytest.raises(KeyError):   # not a user error: the traceback stays
        with opt.user_errors(ValueError):
            raise KeyError("bug")


def test_defaults_come_from_the_dataclasses_and_signatures():
    from dataclasses import dataclass, field

    @dataclass
    class Settings:
        steps: int = 12_345
        names: tuple = field(default_factory=lambda: ("a", "b"))

    def play(games: int = 4, seed=None) -> None: ...

    assert opt.default_of(Settings, "steps") == 12_345 and opt.default_of(Settings, "names") == ("a", "b")
    assert opt.default_of(play, "games") == 4 and opt.default_of(play, "seed") is None
    assert opt.with_default("steps", 12_345) == "steps (default 12,345)"
    assert opt.with_default("lr", 3e-4) == "lr (default 0.0003)"
    assert opt.with_default("who", ("greedy", "random")) == "who (default greedy,random)"


def _help(capsys, *argv: str) -> str:
    assert main([*argv, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())   # argparse wraps lines


def test_help_shows_the_config_defaults(capsys):
    from pyrat_rl.agents.match import DEFAULT_MAX_TURNS, DEFAULT_TURN_TIME
    from pyrat_rl.agents.tournament.config import Limits, TournamentConfig
    from pyrat_rl.train.imitation import ImitationConfig
    from pyrat_rl.train.ppo import PPOConfig

    def shown(value) -> str:
        return f"(default {opt.default_text(value)})"

    text = _help(capsys, "train", "ppo")
    for value in (PPOConfig.timesteps, PPOConfig.learning_rate, PPOConfig.n_envs, PPOConfig.opponent,
                  PPOConfig.device, PPOConfig.eval_opponents):
        assert shown(value) in text, value
    assert "(default 1,000,000)" in text and "(default 0.0003)" in text   # how they look
    text = _help(capsys, "train", "imitate")
    assert shown(ImitationConfig.games) in text and shown(ImitationConfig.opponents) in text
    text = _help(capsys, "play")
    assert f"0 for none {shown(DEFAULT_MAX_TURNS)}" in text and shown(DEFAULT_TURN_TIME) in text
    text = _help(capsys, "tournament", "run")
    assert shown(TournamentConfig.max_turns) in text and shown(Limits.memory_mb) in text
    assert DEFAULT_MAX_TURNS == TournamentConfig.max_turns   # the same turn limit for play and tournaments


# -- agents are named the same way by play and tournament ------------------------------------------------------
SPECS = ["greedy", "greedy", "alice=random", f"{PLAYERS / 'misbehaving.py'}:RaisingAgent",
         "pyrat_rl.agents.scripted:SearchAgent", "runs/lr=3e-4/best.zip", "bob=opportunist",
         str(PLAYERS / "our_agent.py")]


def test_name_agents_rules():
    assert opt.name_agents(SPECS) == [
        ("greedy#1", "greedy"), ("greedy#2", "greedy"), ("alice", "random"),
        ("misbehaving", f"{PLAYERS / 'misbehaving.py'}:RaisingAgent"),
        ("SearchAgent", "pyrat_rl.agents.scripted:SearchAgent"),
        ("best", "runs/lr=3e-4/best.zip"), ("bob", "opportunist"), ("our_agent", str(PLAYERS / "our_agent.py"))]
    with pytest.raises(ValueError, match="used twice"):
        opt.name_agents(["greedy=random", "greedy"])
    with pytest.raises(argparse.ArgumentTypeError, match="bad agent name"):
        opt.agent_arg("a b=greedy")


def test_play_and_tournament_name_agents_alike(capsys, monkeypatch):
    from pyrat_rl.agents import play_cli
    from pyrat_rl.agents.tournament.config import describe_agents

    assert [e.name for e in describe_agents(SPECS)] == [n for n, _ in opt.name_agents(SPECS)]
    seen = {}

    @functools.wraps(play_cli.play_series)   # its signature gives the help's defaults
    def fake_series(agents, **kw):
        seen.update(kw, agents=agents)
        raise SystemExit(0)

    monkeypatch.setattr(play_cli, "play_series", fake_series)
    with pytest.raises(SystemExit):
        main(["play", "alice=greedy", "greedy", "--max-turns", "0"])
    assert seen["agents"] == ["greedy", "greedy"] and seen["names"] == ["alice", "greedy"]
    assert seen["max_turns"] is None   # 0: no turn limit
