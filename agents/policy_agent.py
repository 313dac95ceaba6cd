"""Trained networks as agents: checkpoints (.zip, .pt, .onnx) -> `PolicyAgent`, and the one checkpoint format.

A checkpoint is self-describing: next to the weights it holds *metadata* (`make_meta`, format
``pyrat-policy/2``): the ``head`` (``actor-critic``: an SB3 policy trained by PPO or imitation;
``classifier``: a course classifier of ``pyrat_rl.agents.networks``, observation -> action logits), the
network name and options, the encoder name and options, the game config it was trained on, the env's
rotation option and whether actions were masked. From that alone `build_network` rebuilds the network
(dispatching on the head), and `PolicyAgent` plays exactly as the training env showed the game to the
learner:

* it encodes the `Game` from its own seat with the training encoder (the turn feature uses the training
  env's turn limit as horizon, as the env did);
* on a symmetric maze with rotation on (the env's ``rotate="auto"`` rotates seat 1 on symmetric mazes) the
  second seat sees the maze turned by 180 degrees and its action is mapped back, as `PyRatEnv` does;
* illegal actions (walls, holes, edges; everything but ``nothing`` while in mud) are masked;
* it plays the most likely action (``deterministic=True``, the default) or samples with its seeded generator;
* with ``"loop_guard": true`` in the metadata (``pyrat train export --loop-guard``) a deterministic agent does not
  go back and forth between two cells: when its choice would repeat a move it has just undone (it is back on the
  cell it decided on two decisions ago and would step again to the cell it decided on last, and no cheese was
  eaten meanwhile), it plays its best other move instead (not ``nothing``; its choice stands when it has no other
  move). A network sees no history, so two cells that each point at the other trap it until the turn limit; the
  guard costs nothing but the memory of two cells per game. With ``"loop_guard": "cycles"`` (``--loop-guard cycles``)
  it also leaves longer cycles: when its move would take it to a cell where it already decided twice since cheese
  was last eaten (by anyone), it takes, of its other moves, the one to the cell where it decided least often since
  then, the most likely first (not ``nothing``), at the cost of one count per cell and game;
* with history planes (an ``fcn`` network built with ``{"history": 2}``) it remembers, per game, where both players
  were at its previous decision (a turn out of mud) and shows it as two more planes, as the imitation datasets
  recorded them for the expert (`_with_history`);
* it plays the maze sizes its network can (metadata ``sizes``, `playable_sizes`): a size-free network
  (``"any"``: ``fcn``) plays every size with the same weights, the observations having the maze's own shape
  (the agent calls the network through SB3's ``extract_features``, which checks no shape; only SB3's
  ``predict`` / ``obs_to_tensor`` compare it with the observation space, and the agent never uses them); a
  fixed-size one (``[width, height]``; files without the field play their game config's size) refuses any
  other maze at ``start`` with `pyrat_env.agent.AgentRefusal` (``cnn_planner plays 15x13 mazes only; this
  maze is 21x15``), which the match runners turn into a forfeit.

Files (`load_checkpoint` reads all three, and `load_agent`, the one loader, makes an agent of any of them):

* ``.zip``: a full stable-baselines3 model (PPO runs' ``best.zip``, ``last.zip``...), with the metadata
  added as the member ``pyrat_meta.json``; only ``policy.pth`` is read (no optimizer, no pickled objects).
* ``.pt``: the portable file: ``{"meta": ..., "state_dict": ...}`` saved with `torch.save`, loaded with
  ``weights_only=True`` (network weights alone, no optimizer); `save_policy` writes it (for both heads),
  `export_checkpoint` converts a ``.zip`` to it.
* ``.onnx``: the network as an ONNX graph (observation -> action logits; a planning CNN takes its
  travel-time planes as a second input ``plan``, computed by `pyrat_rl.agents.networks.MazePlanner`) with the metadata
  in the model's ``metadata_props``; played with onnxruntime when it is installed, else rebuilt in torch from a copy of
  the weights stored in the file's metadata (the ``onnx`` package reads it).

Older files load as before: metadata ``pyrat-policy/1`` (no ``head`` field: always an actor-critic, e.g. the
shipped agents, listed in one place, `pyrat_rl.agents.spec`), and the course classifiers' former
``pyrat-classifier/1`` files, whose metadata is read as a ``classifier`` head.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pyrat_env.agent import Agent, AgentRefusal, GameContext
from pyrat_env.encoders import ROTATED_ACTION, Encoder, action_mask, action_mask_batch, make_encoder, position_planes
from pyrat_env.engine import ACTION_DCOL, ACTION_DROW, Game, GameBatch, Maze
from pyrat_env.mazes import GameConfig

META_FORMAT = "pyrat-policy/2"
READ_FORMATS = ("pyrat-policy/1", META_FORMAT)    # /1 had no ``head``: every /1 file is an actor-critic
LEGACY_CLASSIFIER_FORMAT = "pyrat-classifier/1"   # course classifiers saved before they joined this format
META_MEMBER = "pyrat_meta.json"
ANY_SIZE = "any"   # metadata ``sizes`` of a network that plays every maze size (else ``[width, height]``)
ACTOR_CRITIC, CLASSIFIER = "actor-critic", "classifier"
HEADS = (ACTOR_CRITIC, CLASSIFIER)
# The logit of an illegal action wherever actions are masked (agents, imitation, the classifiers' training):
# what MaskablePPO uses. Its exponential underflows to 0 in float32, as any lower value's would.
MASKED_LOGIT = -1e8


# -- metadata ------------------------------------------------------------------------------------------------
def make_meta(policy: str, net_kwargs: dict, net_arch: dict, encoder: str, encoder_options: dict,
              game_config: GameConfig | dict, rotate: bool | str = "auto", masks: bool = True,
              algorithm: str = "", head: str = ACTOR_CRITIC, **extra) -> dict:
    """Checkpoint metadata (JSON-friendly): everything needed to rebuild and play the network.

    ``policy`` names the network: a key of ``pyrat_rl.agents.networks.NETWORKS`` for the ``actor-critic`` head,
    of ``CLASSIFIERS`` for the ``classifier`` head (whose ``net_arch`` is empty). ``sizes`` (the maze sizes
    the network plays: ``"any"`` or ``[width, height]``) is set from the network unless given in ``extra``.
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    cfg = game_config.to_dict() if isinstance(game_config, GameConfig) else dict(game_config)
    meta = {"format": META_FORMAT, "head": head, "policy": policy, "net_kwargs": dict(net_kwargs),
            "net_arch": dict(net_arch),
            "encoder": encoder, "encoder_options": dict(encoder_options), "game_config": cfg,
            "rotate": rotate, "masks": bool(masks), "algorithm": algorithm,
            "sizes": _network_sizes(policy, head, cfg)}
    meta.update(extra)
    return json.loads(json.dumps(meta))   # plain types only (tuples -> lists), as the file will hold them


def _network_sizes(policy: str, head: str, cfg: dict) -> str | list[int]:
    """``"any"`` for a network that plays every maze size, else ``[width, height]`` of its game config."""
    from .networks import CLASSIFIERS, NETWORKS, classifier_size_free, size_free

    if head == ACTOR_CRITIC and policy in NETWORKS and size_free(policy):
        return ANY_SIZE
    if head == CLASSIFIER and policy in CLASSIFIERS and classifier_size_free(policy):
        return ANY_SIZE
    return [int(cfg["width"]), int(cfg["height"])]


def playable_sizes(meta: dict) -> str | tuple[int, int]:
    """The maze sizes a checkpoint plays: ``"any"``, or ``(width, height)``. Files written before the ``sizes``
    field get what their network can do: the shipped agents (``cnn``) their game config's size only."""
    sizes = meta.get("sizes")
    if sizes is None:
        sizes = _network_sizes(meta["policy"], head_of(meta), meta["game_config"])
    if sizes == ANY_SIZE:
        return ANY_SIZE
    return int(sizes[0]), int(sizes[1])


def size_refusal(name: str, meta: dict, width: int, height: int) -> str | None:
    """Why the checkpoint's network cannot play a ``width`` x ``height`` maze (one line naming the agent), or None."""
    sizes = playable_sizes(meta)
    if sizes == ANY_SIZE or sizes == (int(width), int(height)):
        return None
    return f"{name} plays {sizes[0]}x{sizes[1]} mazes only; this maze is {width}x{height}"


def check_meta(meta: Any, where: str) -> dict:
    if not isinstance(meta, dict) or meta.get("format") not in READ_FORMATS:
        raise ValueError(f"{where}: no PyRat policy metadata (format {' or '.join(map(repr, READ_FORMATS))}) found")
    for key in ("policy", "encoder", "game_config"):
        if key not in meta:
            raise ValueError(f"{where}: metadata lacks {key!r}")
    if head_of(meta) not in HEADS:
        raise ValueError(f"{where}: unknown head {meta['head']!r} (this version reads {', '.join(HEADS)})")
    return meta


def head_of(meta: dict) -> str:
    """The metadata's head: ``actor-critic`` or ``classifier`` (files of format /1 are all actor-critics)."""
    return meta.get("head", ACTOR_CRITIC)


def _legacy_classifier_meta(data: dict, where: str) -> dict:
    """The metadata of a ``pyrat-classifier/1`` file (``{format, spec, meta, state_dict}``) in today's terms."""
    spec = data.get("spec") or {}
    meta = dict(check_meta(data.get("meta"), where))
    meta.pop("classifier", None)
    meta.update(format=META_FORMAT, head=CLASSIFIER, policy=spec["kind"], net_kwargs=dict(spec.get("kwargs", {})),
                net_arch={})
    meta.setdefault("description", f"{spec['kind']} classifier trained on expert moves")
    return meta


def meta_encoder(meta: dict) -> Encoder:
    return make_encoder(meta["encoder"], **meta.get("encoder_options", {}))


def meta_config(meta: dict) -> GameConfig:
    return GameConfig.from_dict(meta["game_config"])


def meta_history(meta: dict) -> int:
    """History planes the checkpoint's network reads after the encoder's planes (0 but for an ``fcn`` network
    trained with ``{"history": 2}``: `pyrat_rl.agents.networks.FcnNet`)."""
    from .networks import NETWORKS, history_planes

    if head_of(meta) != ACTOR_CRITIC or meta.get("policy") not in NETWORKS:
        return 0
    return history_planes(meta["policy"], meta.get("net_kwargs"))


def observation_shape(meta: dict, width: int, height: int) -> tuple[int, ...]:
    """The shape of the network's observations on a ``width`` x ``height`` maze: the encoder's, history planes
    included."""
    shape = tuple(meta_encoder(meta).shape(width, height))
    extra = meta_history(meta)
    return (shape[0] + extra,) + shape[1:] if extra else shape


# -- networks ------------------------------------------------------------------------------------------------
def build_network(meta: dict, device: str | torch.device = "cpu", lr: float = 3e-4) -> torch.nn.Module:
    """A fresh network with the checkpoint's architecture, by head: `build_policy` or `build_classifier`."""
    if head_of(meta) == CLASSIFIER:
        return build_classifier(meta, device)
    return build_policy(meta, lr=lr, device=device)


def build_classifier(meta: dict, device: str | torch.device = "cpu") -> torch.nn.Module:
    """A fresh classifier (``pyrat_rl.agents.networks.make_classifier``) for the checkpoint's observations."""
    from .networks import make_classifier

    cfg = meta_config(meta)
    shape = meta_encoder(meta).shape(cfg.width, cfg.height)
    return make_classifier(meta["policy"], shape, **meta.get("net_kwargs", {})).to(device)


def build_policy(meta: dict, lr: float = 3e-4, device: str | torch.device = "cpu"):
    """A fresh SB3 actor-critic policy with the checkpoint's architecture (MaskableActorCriticPolicy)."""
    if head_of(meta) != ACTOR_CRITIC:
        raise ValueError(f"a {head_of(meta)} checkpoint has no actor-critic policy (no value head): it plays as an "
                         "agent, but cannot start PPO or imitation training")
    from gymnasium import spaces
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

    from .networks import policy_kwargs

    cfg = meta_config(meta)
    space = spaces.Box(0.0, 1.0, observation_shape(meta, cfg.width, cfg.height), dtype=np.float32)
    kwargs = policy_kwargs(meta["policy"], meta.get("net_kwargs"), meta.get("net_arch"))
    policy = MaskableActorCriticPolicy(space, spaces.Discrete(5), lambda _: lr, **kwargs)
    return policy.to(device)


def policy_logits(policy, obs: torch.Tensor) -> torch.Tensor:
    """Action logits of an SB3 actor-critic policy (before masking)."""
    features = policy.extract_features(obs, policy.pi_features_extractor)
    latent_pi = policy.mlp_extractor.forward_actor(features)
    return policy.action_net(latent_pi)


def logits_function(net, meta: dict) -> Callable[[torch.Tensor], torch.Tensor]:
    """observation -> action logits (before masking) of a network of the checkpoint's head."""
    return net if head_of(meta) == CLASSIFIER else partial(policy_logits, net)


class LogitsModule(torch.nn.Module):
    """observation -> action logits: the part of a policy an agent needs (what ONNX export writes).

    With ``external_plan`` the travel-time planes of a planning CNN (`pyrat_rl.agents.networks.MazePlanner`, numpy
    code that ONNX cannot hold) are a second input, ``plan``, computed by the caller.
    """

    def __init__(self, policy, external_plan: bool = False) -> None:
        super().__init__()
        self.policy = policy
        self.external_plan = external_plan

    def forward(self, obs: torch.Tensor, plan: torch.Tensor | None = None) -> torch.Tensor:
        if not self.external_plan:
            return policy_logits(self.policy, obs)
        features = self.policy.features_extractor.forward_with_plan(obs, plan)
        return self.policy.action_net(self.policy.mlp_extractor.forward_actor(features))


def _planner(policy):
    return getattr(getattr(policy, "features_extractor", None), "planner", None)   # classifiers have none


# -- reading and writing checkpoints -------------------------------------------------------------------------
def load_checkpoint(path: str | Path) -> tuple[dict, Any]:
    """``(meta, weights)``: weights is a torch state dict (.zip, .pt) or the ONNX file's bytes (.onnx)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pt":
        data = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(data, dict) or "state_dict" not in data:
            raise ValueError(f"{path}: not a PyRat policy file (expected a dict with 'meta' and 'state_dict')")
        if data.get("format") == LEGACY_CLASSIFIER_FORMAT:
            return _legacy_classifier_meta(data, str(path)), data["state_dict"]
        return check_meta(data.get("meta"), str(path)), data["state_dict"]
    if suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if META_MEMBER not in names:
                raise ValueError(f"{path}: an SB3 model without PyRat metadata ({META_MEMBER}); "
                                 "models saved by 'pyrat train' have it")
            meta = check_meta(json.loads(zf.read(META_MEMBER)), str(path))
            state = torch.load(io.BytesIO(zf.read("policy.pth")), map_location="cpu", weights_only=True)
        return meta, state
    if suffix == ".onnx":
        import onnx

        model = onnx.load(str(path))
        props = {p.key: p.value for p in model.metadata_props}
        if "pyrat_meta" not in props:
            raise ValueError(f"{path}: an ONNX model without PyRat metadata (metadata_props 'pyrat_meta')")
        return check_meta(json.loads(props["pyrat_meta"]), str(path)), path.read_bytes()
    raise ValueError(f"{path}: unknown checkpoint suffix {suffix!r} (use .zip, .pt or .onnx)")


def add_meta_to_zip(path: str | Path, meta: dict) -> None:
    """Write the metadata into an SB3 model file (member ``pyrat_meta.json``)."""
    with zipfile.ZipFile(path, "a") as zf:
        if META_MEMBER in zf.namelist():
            raise ValueError(f"{path} already holds {META_MEMBER}")
        zf.writestr(META_MEMBER, json.dumps(meta, indent=1))


def save_policy(path: str | Path, policy, meta: dict) -> Path:
    """The portable ``.pt`` file: metadata and the network's weights (no optimizer state); also writes ``.json``.

    ``policy`` is the network of the metadata's head: an SB3 policy or a classifier.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in policy.state_dict().items()}   # shared tensors saved once
    torch.save({"meta": meta, "state_dict": state}, path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return path


def load_policy(path: str | Path, device: str = "cpu"):
    """``(meta, network)`` for a checkpoint: the network of its head (an SB3 policy or a classifier) with the
    checkpoint's weights, in evaluation mode."""
    meta, state = load_checkpoint(path)
    if isinstance(state, bytes):
        policy = _network_from_onnx(meta, state)
    else:
        policy = build_network(meta, device=device)
        policy.load_state_dict(state)
    policy.eval()
    return meta, policy


def export_checkpoint(src: str | Path, dst: str | Path, description: str | None = None,
                      lookahead: dict | None = None, loop_guard: bool | str | None = None) -> Path:
    """Convert a checkpoint to a portable file: ``dst`` ending in ``.pt`` (weights + metadata) or ``.onnx``.

    ``lookahead`` (``{"kind": "search", "prior": 0.25}``): the file loads as the network guiding a search at play
    time (`pyrat_rl.agents.net_search`) instead of the network alone. ``loop_guard``: set (or clear) the metadata's
    ``loop_guard`` (`PolicyAgent`): True or ``"pairs"`` (no back-and-forth between two cells), ``"cycles"`` (nor
    longer cycles), False (none); None keeps the checkpoint's.
    """
    meta, policy = load_policy(src)
    if description is not None:
        meta = dict(meta, description=description)
    if loop_guard is not None:
        meta = dict(meta, loop_guard=loop_guard_value(loop_guard))
    if lookahead is not None:
        from .net_search import LOOKAHEADS

        if lookahead.get("kind") not in LOOKAHEADS:
            raise ValueError(f"unknown lookahead {lookahead.get('kind')!r} (known: {', '.join(LOOKAHEADS)})")
        meta = dict(meta, lookahead=dict(lookahead))
    dst = Path(dst)
    if dst.suffix == ".pt":
        return save_policy(dst, policy, meta)
    if dst.suffix == ".onnx":
        return export_onnx(policy, meta, dst)
    raise ValueError(f"export to .pt or .onnx, not {dst.suffix!r}")


def export_onnx(policy, meta: dict, path: str | Path) -> Path:
    """The policy as ONNX (input ``obs`` [B, ...] float32, output ``logits`` [B, 5]) with the metadata inside."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = meta_config(meta)
    shape = observation_shape(meta, cfg.width, cfg.height)
    planner = _planner(policy)
    module = policy if head_of(meta) == CLASSIFIER else LogitsModule(policy, external_plan=planner is not None)
    module.eval()
    dummy = torch.zeros((1,) + tuple(shape))
    inputs, names = (dummy,), ["obs"]
    if planner is not None:
        inputs, names = (dummy, torch.zeros((1, planner.n_planes) + tuple(shape[1:]))), ["obs", "plan"]
    # a network that plays every size takes planes of any height and width
    axes = {0: "batch", 2: "height", 3: "width"} if playable_sizes(meta) == ANY_SIZE and len(shape) == 3 else \
        {0: "batch"}
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated, but the dynamo one needs onnxscript, which torch does not require
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, inputs, str(path), input_names=names, output_names=["logits"],
                          dynamic_axes={**{n: dict(axes) for n in names}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    model = onnx.load(str(path))
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in policy.state_dict().items()}, buf)
    for key, value in (("pyrat_meta", json.dumps(meta)), ("pyrat_state", base64.b64encode(buf.getvalue()).decode())):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return path


def _network_from_onnx(meta: dict, data: bytes):
    """Rebuild the torch network from an ONNX file written by `export_onnx` (its weights are also stored as
    ``pyrat_state``, a base64 ``torch.save`` of the network's state dict: graph initializers may be renamed or
    merged by the exporter, so they are not a reliable source)."""
    import onnx

    model = onnx.load_from_string(data)
    props = {p.key: p.value for p in model.metadata_props}
    if "pyrat_state" not in props:
        raise ValueError("this ONNX file holds no 'pyrat_state' weights (exported by another tool?); "
                         "install onnxruntime to play it")
    state = torch.load(io.BytesIO(base64.b64decode(props["pyrat_state"])), map_location="cpu", weights_only=True)
    policy = build_network(meta)
    policy.load_state_dict(state)
    return policy


def _onnx_logits_fn(data: bytes, meta: dict) -> Callable[[np.ndarray], np.ndarray] | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    planner = None
    if "plan" in names:
        from .networks import MazePlanner, net_kwargs_for

        cfg = meta_config(meta)
        scale = None   # a fixed-size network's planes are scaled by its size; a size-free one's by its plan_scale
        if playable_sizes(meta) == ANY_SIZE:
            scale = float(net_kwargs_for(meta["policy"], meta.get("net_kwargs"))["plan_scale"])
        planner = MazePlanner(cfg.height, cfg.width, scale=scale)

    def fn(obs: np.ndarray) -> np.ndarray:
        feed = {"obs": obs.astype(np.float32)}
        if planner is not None:
            feed["plan"] = planner(torch.as_tensor(feed["obs"])).numpy()
        return session.run(["logits"], feed)[0]

    return fn


# -- rotation, as the envs do it -----------------------------------------------------------------------------
def maze_is_symmetric(maze: Maze) -> bool:
    """True when the maze (holes, walls, mud) is invariant under the 180-degree rotation the envs use."""
    if not np.array_equal(maze.cells, maze.cells[::-1]):
        return False
    return bool(np.array_equal(maze.weights[::-1][:, ROTATED_ACTION], maze.weights))


def seat_rotation(rotate: bool | str, maze: Maze, seat: int) -> bool:
    """Whether ``seat`` sees a rotated view: seat 1 only, always (True), never (False), or on symmetric mazes
    (``"auto"``, the envs' default, which rotate when the game config is symmetric, i.e. the maze is)."""
    if seat != 1:
        return False
    if rotate == "auto":
        return maze_is_symmetric(maze)
    return bool(rotate)


# -- the agent -----------------------------------------------------------------------------------------------
class PolicyAgent(Agent):
    """A neural agent: the policy of a checkpoint, seeing the game as the training env showed it.

    ``logits_fn(obs [B, ...] float32) -> logits [B, 5]`` (numpy or torch) is the network; ``meta`` the
    checkpoint metadata. ``act`` plays one game; ``act_batch`` plays every game of a `GameBatch` in one
    network call (its encodings are kept between calls and refreshed for the slots whose game changed).
    """

    kind = "neural"

    def __init__(self, logits_fn: Callable, meta: dict, name: str = "neural", deterministic: bool = True,
                 policy=None, description: str = "") -> None:
        super().__init__()
        self.name = name
        self.meta = meta
        kind = "classifier" if head_of(meta) == CLASSIFIER else "policy"
        self.description = description or meta.get("description", "") or f"{meta['policy']} {kind}"
        self.policy = policy
        self.deterministic = bool(deterministic)
        # the turn feature keeps the training horizon whatever the match's turn limit (see Encoder.horizon_from_game)
        self.encoder = make_encoder(meta["encoder"], **{**meta.get("encoder_options", {}), "horizon_from_game": False})
        self.rotate_option = meta.get("rotate", "auto")
        self.use_masks = bool(meta.get("masks", True))
        self._logits_fn = logits_fn
        self.sizes = playable_sizes(meta)   # "any" or (width, height): a fixed-size network refuses other mazes
        self._sym: dict[int, tuple[Maze, bool]] = {}
        self._benc: dict[tuple, Any] = {}
        guard = loop_guard_value(meta.get("loop_guard", False))
        self.loop_guard = bool(guard)
        self.cycle_guard = guard == "cycles"
        self._memory: dict[int, np.ndarray] = {}   # per seat, for ``act``: see `_guard`
        self._visits: dict[int, np.ndarray] = {}   # per seat, for ``act`` with the cycle guard: see `_guard`
        self.history = meta_history(meta)          # planes of where the players were at the previous decision
        self._seen: dict[int, np.ndarray] = {}     # per seat, for ``act``: see `_with_history`

    # -- helpers ---------------------------------------------------------------------------------------------
    def check_size(self, width: int, height: int) -> None:
        """Raise `AgentRefusal` (one message naming the agent, its size and the maze's) on a size it cannot play."""
        if self.sizes != ANY_SIZE and self.sizes != (width, height):
            raise AgentRefusal(size_refusal(self.name, self.meta, width, height))

    def _rotation(self, maze: Maze, seat: int) -> bool:
        if seat != 1 or self.rotate_option is not True and self.rotate_option != "auto":
            return False
        if self.rotate_option is True:
            return True
        hit = self._sym.get(id(maze))
        if hit is None or hit[0] is not maze:
            if len(self._sym) > 4096:
                self._sym.clear()
            hit = self._sym[id(maze)] = (maze, maze_is_symmetric(maze))
        return hit[1]

    def _choose(self, obs: np.ndarray, masks: np.ndarray, guard: tuple | None = None) -> np.ndarray:
        """The view actions of a batch of observations; ``guard``: ``(cells, rot, cheese_left, turn, free, memory,
        width, visits)`` of each row when the loop guard is on (`_guard`)."""
        logits = self._logits_fn(obs)
        if isinstance(logits, torch.Tensor):
            logits = logits.detach().cpu().numpy()
        logits = np.asarray(logits, dtype=np.float64)
        if self.use_masks:
            logits = np.where(masks, logits, MASKED_LOGIT)
        if self.deterministic:
            if guard is not None and self.loop_guard:
                return _guard(logits, masks, *guard)
            return logits.argmax(axis=1)
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        u = self.rng.random((len(p), 1))
        return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), 4)

    # -- Agent API -------------------------------------------------------------------------------------------
    def start(self, ctx: GameContext) -> None:
        """Preprocessing: check the maze size (`AgentRefusal` when the network cannot play it), decide the
        view's rotation and play one silent move (warms the network's caches)."""
        self.check_size(ctx.maze.width, ctx.maze.height)
        super().start(ctx)
        self._rotation(ctx.maze, ctx.seat)   # the symmetry test is cached now, in preprocessing, not in a turn
        self._memory.pop(ctx.seat, None)
        self._visits.pop(ctx.seat, None)
        self._seen.pop(ctx.seat, None)
        if ctx.game is not None and not ctx.game.over:
            self.act(ctx.game.copy(), ctx.seat)

    def act(self, game: Game, seat: int) -> int:
        self.check_size(game.maze.width, game.maze.height)   # callers that skip ``start`` get the same message
        rot = self._rotation(game.maze, seat)
        obs = self.encoder.encode(game, seat, rot)[None]
        if self.history:
            obs = self._history_of_game(obs, game, [seat], [rot], update=True)
        mask = action_mask(game, seat, rot)
        guard = None
        if self.loop_guard:
            memory = self._memory.get(seat)
            if memory is None:
                memory = self._memory[seat] = _fresh_memory(1)
            visits = None
            if self.cycle_guard:
                visits = self._visits.get(seat)
                if visits is None or visits.shape[1] != game.maze.n_cells:
                    visits = self._visits[seat] = np.zeros((1, game.maze.n_cells), dtype=np.int32)
            guard = (np.array([game.pos[seat]]), np.array([rot]), np.array([len(game.cheese)]), np.array([game.turn]),
                     np.array([game.mud_target[seat] is None]), memory, game.maze.width, visits)
        a = int(self._choose(obs, mask[None], guard)[0])
        return int(ROTATED_ACTION[a]) if rot else a

    def move_probabilities(self, game: Game, seats: list[int]) -> np.ndarray:
        """``[len(seats), 5]``: the network's probabilities of each real move (not the view's) for those seats, in
        one forward pass (illegal moves 0 when the checkpoint uses masks)."""
        obs, masks, rots = [], [], []
        for s in seats:
            rot = self._rotation(game.maze, s)
            obs.append(self.encoder.encode(game, s, rot))
            masks.append(action_mask(game, s, rot))
            rots.append(rot)
        obs = np.stack(obs)
        if self.history:   # the seats' memories are kept by `remember`, called once a turn by the search
            obs = self._history_of_game(obs, game, list(seats), rots, update=False)
        logits = self._logits_fn(obs)
        if isinstance(logits, torch.Tensor):
            logits = logits.detach().cpu().numpy()
        logits = np.asarray(logits, dtype=np.float64)
        if self.use_masks:
            logits = np.where(np.stack(masks), logits, -np.inf)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out = p.copy()
        for k, rot in enumerate(rots):
            if rot:   # view action a is the real action ROTATED_ACTION[a]
                out[k, ROTATED_ACTION] = p[k]
        return out

    def remember(self, game: Game, seats: list[int]) -> None:
        """Note the players' cells for the history planes of ``seats`` (a network with ``history``; for callers of
        `move_probabilities`, once a turn after it; ``act`` does it itself)."""
        if self.history:
            self._history_of_game(None, game, list(seats), [False] * len(seats), update=True)

    def _history_of_game(self, obs: np.ndarray | None, game: Game, seats: list[int], rots: list[bool],
                         update: bool) -> np.ndarray | None:
        """``obs`` (one row per seat of ``seats``) with its history planes (`_with_history`), per seat memory."""
        other = [1 - s if game.n_players > 1 else s for s in seats]
        memory = np.stack([self._seen.get(s, _fresh_history(1)[0]) for s in seats])
        out = _with_history(obs, memory, np.array([game.pos[s] for s in seats]), np.array([game.pos[o] for o in other]),
                            np.array(rots, dtype=bool), np.full(len(seats), game.turn),
                            np.array([game.mud_target[s] is None for s in seats]), game.maze.width, game.maze.height,
                            update)
        if update:
            for k, s in enumerate(seats):
                self._seen[s] = memory[k]
        return out

    def act_batch(self, batch: GameBatch, seat: int) -> np.ndarray:
        self.check_size(batch.width, batch.height)
        rot = np.array([self._rotation(m, seat) for m in batch.mazes], dtype=bool)
        key = (batch.batch_size, batch.width, batch.height, seat)
        state = self._benc.get(key)
        if state is None:
            if len(self._benc) > 8:
                self._benc.clear()
            enc = self.encoder.batch(batch.batch_size, batch.width, batch.height, seat)
            state = self._benc[key] = [enc, [None] * batch.batch_size, _fresh_memory(batch.batch_size),
                                       _fresh_history(batch.batch_size),
                                       np.zeros((batch.batch_size, batch.width * batch.height), dtype=np.int32)
                                       if self.cycle_guard else None]
        enc, seen, memory, history, visits = state
        stale = [i for i in range(batch.batch_size)
                 if seen[i] is None or seen[i][0] is not batch.mazes[i] or seen[i][1] is not batch.initial_cheese[i]
                 or seen[i][2] != rot[i]]
        if stale:
            enc.reset_rows(batch, np.asarray(stale), rot[stale])
            memory[stale] = -1
            history[stale] = -1
            if visits is not None:
                visits[stale] = 0
            for i in stale:
                seen[i] = (batch.mazes[i], batch.initial_cheese[i], bool(rot[i]))
        live = np.flatnonzero(~batch.over)
        out = np.zeros(batch.batch_size, dtype=np.int64)
        if len(live) == 0:
            return out
        obs = enc.encode(batch, live)
        if self.history:
            rows_history = history[live]
            other = 1 - seat if batch.pos.shape[1] > 1 else seat
            obs = _with_history(obs, rows_history, batch.pos[live, seat], batch.pos[live, other], rot[live],
                                np.asarray(batch.turn)[live], batch.mud_target[live, seat] < 0, batch.width,
                                batch.height, update=True)
            history[live] = rows_history
        masks = action_mask_batch(batch, seat, rot)[live]
        guard = None
        if self.loop_guard:
            rows_memory = memory[live]
            rows_visits = None if visits is None else visits[live]
            guard = (batch.pos[live, seat].astype(np.int64), rot[live], batch.cheese[live].sum(axis=1),
                     np.asarray(batch.turn)[live].astype(np.int64), batch.mud_target[live, seat] < 0, rows_memory,
                     batch.width, rows_visits)
        a = self._choose(obs, masks, guard)
        if guard is not None:
            memory[live] = rows_memory
            if rows_visits is not None:
                visits[live] = rows_visits
        out[live] = np.where(rot[live], ROTATED_ACTION[a], a)
        return out


_DROW = np.asarray(ACTION_DROW, dtype=np.int64)
_DCOL = np.asarray(ACTION_DCOL, dtype=np.int64)


def _fresh_history(rows: int) -> np.ndarray:
    """History memory ``[rows, 3]``: the player's cell and the opponent's at the player's last decision, and the
    turn then (-1: nothing remembered)."""
    return np.full((rows, 3), -1, dtype=np.int64)


def _with_history(obs: np.ndarray | None, memory: np.ndarray, me: np.ndarray, opp: np.ndarray, rot: np.ndarray,
                  turn: np.ndarray, free: np.ndarray, width: int, height: int, update: bool) -> np.ndarray | None:
    """``obs`` ``[B, C, H, W]`` followed by its 2 history planes (`pyrat_env.encoders.position_planes`): where the
    player and the opponent were at the player's previous decision, from ``memory`` (`_fresh_history`), or their
    cells now when nothing is remembered (first decision; the turn did not advance: another game). With
    ``update`` the rows that decide now (``free``: not in mud) remember the cells now, in place. This is what the
    imitation datasets record (``pyrat_rl.train.imitation.previous_positions``): decisions are the turns out of mud.
    """
    me, opp, turn = (np.asarray(x, dtype=np.int64) for x in (me, opp, turn))
    known = (memory[:, 2] >= 0) & (memory[:, 2] < turn)
    memory[~known] = -1
    out = None
    if obs is not None:
        prev = np.stack([np.where(known, memory[:, 0], me), np.where(known, memory[:, 1], opp)], axis=1)
        planes = position_planes(prev, rot, width, height)
        out = np.concatenate([np.asarray(obs, dtype=np.float32), planes], axis=1)
    if update:
        rows = np.flatnonzero(np.asarray(free, dtype=bool))
        memory[rows, 0], memory[rows, 1], memory[rows, 2] = me[rows], opp[rows], turn[rows]
    return out


def _fresh_memory(rows: int) -> np.ndarray:
    """Loop-guard memory ``[rows, 4]``: cell decided on two decisions ago, cell decided on last, cheese left then,
    turn then (-1: nothing remembered)."""
    return np.full((rows, 4), -1, dtype=np.int64)


def loop_guard_value(value) -> bool | str:
    """The metadata value of a loop guard: False (none), True (``"pairs"``: no back-and-forth) or ``"cycles"``."""
    if value is None or value is False or value == "none":
        return False
    if value is True or value == "pairs":
        return True
    if value == "cycles":
        return "cycles"
    raise ValueError(f"unknown loop_guard {value!r} (known: pairs, cycles, or true/false)")


CYCLE_VISITS = 2   # the cycle guard avoids a cell where the agent already decided this often since cheese was eaten


def _guard(logits: np.ndarray, masks: np.ndarray, cells: np.ndarray, rot: np.ndarray, cheese_left: np.ndarray,
           turn: np.ndarray, free: np.ndarray, memory: np.ndarray, width: int,
           visits: np.ndarray | None = None) -> np.ndarray:
    """Most likely view actions, except a row about to repeat a back-and-forth takes its best other move (the
    loop guard of `PolicyAgent`); updates ``memory`` (`_fresh_memory`, one row per logits row) in place.

    ``cells``: each row's cell (real frame); ``rot``: whether the view is rotated; ``free``: not in mud (rows in mud
    are not decisions: no guard, no memory update). The memory of a row is forgotten when cheese was eaten since
    its last decision or when the turn did not advance (another game). ``visits`` (``[rows, cells]``, the cycle
    guard): how many of the row's decisions were taken on each cell since then, updated in place; a row whose move
    leads to a cell counted `CYCLE_VISITS` times takes, of its other moves, the one to the least counted cell (the
    most likely first).
    """
    a = logits.argmax(axis=1)
    forget = (memory[:, 2] != cheese_left) | (memory[:, 3] >= turn)
    memory[forget] = -1
    real = np.where(rot, ROTATED_ACTION[a], a)
    dest = cells + _DROW[real] * width + _DCOL[real]
    loop = free & (real != 0) & (memory[:, 0] == cells) & (memory[:, 1] == dest)
    if visits is not None:
        visits[forget] = 0
        seen = visits[np.arange(len(a)), np.clip(dest, 0, visits.shape[1] - 1)]
        loop |= free & (real != 0) & (seen >= CYCLE_VISITS)
    if loop.any():
        rows = np.flatnonzero(loop)
        other = logits[rows].copy()
        if visits is not None:   # fewest decisions on the destination first, then the most likely
            view = np.arange(5)[None, :]
            real_all = np.where(rot[rows, None], ROTATED_ACTION[view], view)
            dest_all = cells[rows, None] + _DROW[real_all] * width + _DCOL[real_all]
            count = visits[rows[:, None], np.clip(dest_all, 0, visits.shape[1] - 1)]
            legal = masks[rows]
            low = np.where(legal, other, np.inf).min(axis=1, keepdims=True)
            high = np.where(legal, other, -np.inf).max(axis=1, keepdims=True)
            other = np.where(legal, (other - low) / (high - low + 1.0) - count, -np.inf)   # in (-count - 1, -count]
        other[np.arange(len(rows)), a[rows]] = -np.inf
        other[:, 0] = -np.inf
        other = np.where(masks[rows], other, -np.inf)
        alt = other.argmax(axis=1)
        has = np.isfinite(other[np.arange(len(rows)), alt])
        a[rows[has]] = alt[has]
    upd = np.flatnonzero(free)
    if visits is not None:
        visits[upd, cells[upd]] += 1
    memory[upd, 0] = memory[upd, 1]
    memory[upd, 1] = cells[upd]
    memory[upd, 2] = cheese_left[upd]
    memory[upd, 3] = turn[upd]
    return a


SMALL_BATCH = 16   # up to this many observations, CPU inference runs on one thread


def _torch_logits_fn(policy, meta: dict) -> Callable[[np.ndarray], np.ndarray]:
    device = next(policy.parameters()).device
    logits = logits_function(policy, meta)

    def fn(obs: np.ndarray) -> np.ndarray:
        threads = torch.get_num_threads()
        # One game's move is a few small kernels: spreading them over threads only adds waiting, and on a
        # busy machine a thread that is not scheduled stalls every kernel. So small batches use one thread.
        single = device.type == "cpu" and len(obs) <= SMALL_BATCH and threads > 1
        if single:
            torch.set_num_threads(1)
        try:
            with torch.no_grad():
                return logits(torch.as_tensor(obs, device=device)).cpu().numpy()
        finally:
            if single:
                torch.set_num_threads(threads)

    return fn


def agent_from_policy(policy, meta: dict, name: str = "neural", deterministic: bool = True) -> PolicyAgent:
    """A `PolicyAgent` around a live network of the metadata's head (an SB3 policy during training, a classifier
    in the notebooks)."""
    return PolicyAgent(_torch_logits_fn(policy, meta), meta, name=name, deterministic=deterministic, policy=policy)


def load_agent(path: str | Path, deterministic: bool = True, device: str = "cpu") -> Agent:
    """The agent of a checkpoint file (``.zip``, ``.pt`` or ``.onnx``, either head), named after the file.

    A `PolicyAgent`; or, when the metadata asks for a lookahead (``"lookahead": {"kind": "search", ...}``), the
    network guiding that search (`pyrat_rl.agents.net_search.NetSearchAgent`).
    """
    agent = _load_policy_agent(path, deterministic, device)
    options = agent.meta.get("lookahead")
    if options:
        from .net_search import lookahead_agent

        return lookahead_agent(agent, options)
    return agent


def _load_policy_agent(path: str | Path, deterministic: bool, device: str) -> PolicyAgent:
    path = Path(path)
    meta, weights = load_checkpoint(path)
    name = meta.get("name") or path.stem
    if isinstance(weights, bytes):   # ONNX
        fn = _onnx_logits_fn(weights, meta)
        if fn is not None:
            return PolicyAgent(fn, meta, name=name, deterministic=deterministic)
        policy = _network_from_onnx(meta, weights)
    else:
        policy = build_network(meta, device=device)
        policy.load_state_dict(weights)
    policy.eval()
    return PolicyAgent(_torch_logits_fn(policy, meta), meta, name=name, deterministic=deterministic, policy=policy)
