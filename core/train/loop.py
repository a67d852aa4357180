"""The decoder training loop (AdaIN recipe, Huang & Belongie 2017, with relative loss terms for Caffe VGG19).

Per iteration, with content crops ``c`` and style crops ``s`` (``B,3,crop,crop``) and ``f_l`` the frozen encoder::

    t        = AdaIN(f_4_1(c), f_4_1(s))            target features
    x        = decoder(t)                           decoded image (unclamped)
    content  = MSE(f_4_1(x), t) / mean(t²)
    style    = (1/4) Σ_{l=relu1_1..relu4_1} [MSE(μ_l(x), μ_l(s)) + MSE(σ_l(x), σ_l(s))] / mean(μ_l(s)² + σ_l(s)²)
    identity = MSE(decoder(f_4_1(c)), c)             pixel reconstruction of the content (SANet's identity idea)
    total    = content_weight·content + style_weight·style + identity_weight·identity
               + contrastive_weight·contrastive

Each feature term is divided by the energy of its target so the raw Caffe-scale layers (RMS from ~30 at relu1_1
to ~700 at relu4_1) weigh alike; ``contrastive`` is :class:`core.losses.ContrastiveStyleLoss` between the codes of
``x`` and of ``s`` (negatives: the other styles of the batch and a queue). With ``content_weight`` and
``style_weight`` both 0 only the identity term is computed (reconstruction training, as for WCT decoders): no
backward pass through the encoder, about 3× cheaper per iteration. Adam with
``lr_t = lr / (1 + lr_decay·t)``. Checkpoints hold everything needed to resume bit-for-bit on CPU.
"""

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

import torch
import torch.nn.functional as F

from core.atomic import atomic_output
from core.errors import ConfigError, InputError
from core.image.transforms import adain
from core.losses import ContrastiveStyleLoss, content_loss, feature_stats, meanstd_style_loss
from core.losses.contrastive import layer_channels
from core.nn.decoder import INPUT_LAYER, Decoder
from core.nn.vgg import load_vgg19
from core.train.data import CropStream

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclass
class TrainConfig:
    """Settings of :func:`train_decoder` (the CLI flags of ``stylize train-decoder``)."""

    iters: int = field(default=2000, metadata={"help": "total training iterations (including resumed ones)"})
    batch: int = field(default=8, metadata={"help": "content/style pairs per iteration"})
    lr: float = field(default=1e-4, metadata={"help": "Adam learning rate"})
    lr_decay: float = field(default=5e-5, metadata={"help": "lr_t = lr / (1 + decay * t)"})
    content_weight: float = field(default=1.0, metadata={
        "help": "weight of the relu4_1 content term (relative to the AdaIN target's energy)"})
    style_weight: float = field(default=2.0, metadata={"help": "weight of the mean/std style term"})
    identity_weight: float = field(default=1.0, metadata={
        "help": "weight of the pixel reconstruction term (decode the content's own features)"})
    contrastive_weight: float = field(default=0.0, metadata={
        "help": "weight of the contrastive style term (core.losses.ContrastiveStyleLoss); 0 = off"})
    seed: int = field(default=0, metadata={"help": "random seed (crops, initial weights)"})
    checkpoint_every: int = field(default=50, metadata={"help": "iterations between checkpoints"})

    def validate(self) -> None:
        if self.iters < 1 or self.batch < 1:
            raise ConfigError("iters" if self.iters < 1 else "batch", "must be at least 1")
        if self.contrastive_weight > 0 and self.batch < 2:
            raise ConfigError("contrastive_weight", "needs a batch of at least 2 (other styles are the negatives)")
        if self.content_weight == self.style_weight == self.identity_weight == self.contrastive_weight == 0:
            raise InputError("all loss weights are 0: nothing to train")
        for name in ("lr", "content_weight", "style_weight", "identity_weight", "contrastive_weight", "lr_decay"):
            if getattr(self, name) < 0 or (name == "lr" and self.lr == 0):
                raise ConfigError(name, f"must be {'> 0' if name == 'lr' else '>= 0'}")


@dataclass
class TrainResult:
    """The trained decoder, the loss log (one dict per logged iteration) and how the run ended."""

    decoder: Decoder
    log: List[dict] = field(default_factory=list)
    iterations: int = 0
    seconds: float = 0.0
    interrupted: bool = False


@dataclass
class AdaINTargets:
    """What a decoded image is scored against: the AdaIN features and the style's per-layer statistics.

    ``features``: ``B,512,h,w`` relu4_1 target; ``style_stats``: ``{layer: (mean, std)}`` each ``B,C``;
    ``layer_weights``: ``1 / (4·mean(μ² + σ²))`` per layer, so each layer's term is relative to its energy.
    """

    features: torch.Tensor
    style_stats: dict
    layer_weights: dict

    @classmethod
    def of(cls, content_features: torch.Tensor, style_features: dict) -> "AdaINTargets":
        """From the content's relu4_1 (``B,512,h,w``) and the style's features at :data:`STYLE_LAYERS`."""
        stats = {layer: feature_stats(style_features[layer]) for layer in STYLE_LAYERS}
        weights = {layer: 1.0 / (len(STYLE_LAYERS) * float((m.pow(2) + s.pow(2)).mean()))
                   for layer, (m, s) in stats.items()}
        return cls(adain(content_features, style_features[INPUT_LAYER]), stats, weights)

    def terms(self, features: dict) -> dict:
        """``content`` and ``style`` terms (module docstring) of an image's features at :data:`STYLE_LAYERS`."""
        return {"content": content_loss(features[INPUT_LAYER], self.features) / float(self.features.pow(2).mean()),
                "style": meanstd_style_loss(features, self.style_stats, self.layer_weights)}


def loss_terms(encoder, decoder: Decoder, content: torch.Tensor, style: torch.Tensor, config: TrainConfig,
               contrastive: Optional[ContrastiveStyleLoss] = None, style_ids: Optional[torch.Tensor] = None) -> dict:
    """The weighted loss terms of one batch (see the module docstring); ``total`` is the one to minimise."""
    terms = {}
    with torch.no_grad():
        content_features = encoder(content, [INPUT_LAYER])[INPUT_LAYER]
    total = torch.zeros((), device=content.device)
    if config.identity_weight > 0:
        terms["identity"] = F.mse_loss(decoder(content_features).float(), content)
        total = total + config.identity_weight * terms["identity"]
    if config.content_weight == config.style_weight == config.contrastive_weight == 0:
        terms["total"] = total
        return terms
    with torch.no_grad():
        style_features = encoder(style, STYLE_LAYERS)
        targets = AdaINTargets.of(content_features, style_features)
    decoded = decoder(targets.features)
    decoded_features = encoder(decoded, STYLE_LAYERS)
    terms.update(targets.terms(decoded_features))
    total = total + config.content_weight * terms["content"] + config.style_weight * terms["style"]
    if contrastive is not None and config.contrastive_weight > 0:
        terms["contrastive"] = contrastive(decoded_features, style_features, style_ids)
        total = total + config.contrastive_weight * terms["contrastive"]
    terms["total"] = total
    return terms


class Trainer:
    """Owns the decoder, optimiser, data streams and checkpoints of one training run."""

    def __init__(self, contents: CropStream, styles: CropStream, config: TrainConfig, device="cpu",
                 init: Optional[Decoder] = None):
        config.validate()
        torch.manual_seed(config.seed)
        self.config = config
        self.device = torch.device(device)
        self.contents, self.styles = contents, styles
        self.encoder = load_vgg19(self.device, autocast_cpu_bf16=False)
        self.decoder = Decoder()
        if init is not None:
            self.decoder.load_state_dict(init.state_dict())
        self.decoder = self.decoder.to(self.device).train()
        params = list(self.decoder.parameters())
        self.contrastive = None
        if config.contrastive_weight > 0:
            self.contrastive = ContrastiveStyleLoss(layer_channels(STYLE_LAYERS)).to(self.device)
            params += list(self.contrastive.parameters())
        self.optimizer = torch.optim.Adam(params, lr=config.lr)
        self.iteration = 0
        self.seconds = 0.0
        self.log: List[dict] = []

    def learning_rate(self) -> float:
        return self.config.lr / (1.0 + self.config.lr_decay * self.iteration)

    def step(self) -> dict:
        """One optimisation step; returns the float loss terms."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        content, _ = self.contents.batch(self.config.batch)
        style, style_ids = self.styles.batch(self.config.batch)
        content, style, style_ids = content.to(self.device), style.to(self.device), style_ids.to(self.device)
        terms = loss_terms(self.encoder, self.decoder, content, style, self.config, self.contrastive, style_ids)
        if not torch.isfinite(terms["total"]):
            raise FloatingPointError(f"training loss became {float(terms['total'])} at iteration {self.iteration}")
        self.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        self.optimizer.step()
        if self.contrastive is not None:
            with torch.no_grad():
                codes, _ = self.contrastive.projector(self.encoder(style, STYLE_LAYERS))
            self.contrastive.enqueue(codes, style_ids)
        self.iteration += 1
        return {name: float(value.detach()) for name, value in terms.items()}

    def state(self) -> dict:
        return {"decoder": self.decoder.state_dict(), "optimizer": self.optimizer.state_dict(),
                "contrastive": None if self.contrastive is None else self.contrastive.state_dict(),
                "iteration": self.iteration, "seconds": self.seconds, "log": self.log,
                "contents_rng": self.contents.state(), "styles_rng": self.styles.state(),
                "torch_rng": torch.get_rng_state(), "config": asdict(self.config)}

    def save_checkpoint(self, path: Path) -> None:
        with atomic_output(path) as tmp:
            torch.save(self.state(), tmp)

    def load_checkpoint(self, path: Path) -> None:
        """Restore a run saved by :meth:`save_checkpoint`; the loss settings must match."""
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)  # a planted file cannot run code
            saved = state["config"]
        except Exception as exc:
            raise InputError(f"checkpoint {path} is unreadable ({exc}); delete it to start over") from None
        for name in ("content_weight", "style_weight", "identity_weight", "contrastive_weight"):
            if saved.get(name) != getattr(self.config, name):
                raise InputError(f"checkpoint {path} was trained with --{name.replace('_', '-')} {saved.get(name)}, "
                                 f"not {getattr(self.config, name)}; use the same value or delete the checkpoint")
        self.decoder.load_state_dict(state["decoder"])
        if self.contrastive is not None and state["contrastive"] is not None:
            saved = state["contrastive"]
            self.contrastive.queue = torch.empty_like(saved["queue"])  # the queue grows: match its saved length
            self.contrastive.queue_ids = torch.empty_like(saved["queue_ids"])
            self.contrastive.load_state_dict(saved)
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration, self.seconds, self.log = state["iteration"], state["seconds"], state["log"]
        self.contents.set_state(state["contents_rng"])
        self.styles.set_state(state["styles_rng"])
        torch.set_rng_state(state["torch_rng"])


def train_decoder(trainer: Trainer, checkpoint: Optional[Path] = None, resume: bool = False,
                  progress: bool = True, log_every: int = 10) -> TrainResult:
    """Run ``trainer`` up to ``config.iters`` iterations; checkpoint every ``config.checkpoint_every`` and on Ctrl-C.

    Logged iterations (every ``log_every`` and the last) record the loss terms, learning rate and elapsed seconds.
    Ctrl-C stops after saving a checkpoint and returns with ``interrupted=True``.
    """
    from tqdm import tqdm

    config = trainer.config
    if resume and checkpoint is not None and checkpoint.exists():
        trainer.load_checkpoint(checkpoint)
    bar = tqdm(total=config.iters, initial=trainer.iteration, desc="train-decoder", disable=not progress,
               dynamic_ncols=True)
    interrupted = False
    try:
        while trainer.iteration < config.iters:
            start = time.perf_counter()
            terms = trainer.step()
            trainer.seconds += time.perf_counter() - start
            if trainer.iteration % log_every == 0 or trainer.iteration == config.iters or trainer.iteration == 1:
                trainer.log.append({"iteration": trainer.iteration, "lr": trainer.learning_rate(),
                                    "seconds": round(trainer.seconds, 3), **terms})
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items() if k in ("total", "content", "style", "identity")})
            if checkpoint is not None and trainer.iteration % config.checkpoint_every == 0:
                trainer.save_checkpoint(checkpoint)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    if checkpoint is not None:
        trainer.save_checkpoint(checkpoint)
    return TrainResult(decoder=trainer.decoder, log=trainer.log, iterations=trainer.iteration,
                       seconds=trainer.seconds, interrupted=interrupted)


def write_loss_log(log: List[dict], path: Path) -> None:
    """The loss log as JSON (a list of per-iteration dicts), written atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(log, indent=1) + "\n")

