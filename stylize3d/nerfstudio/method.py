"""The ``stylize-splat`` method for nerfstudio (entry point group ``nerfstudio.method_configs``).

``ns-train stylize-splat --data DATA --load-dir outputs/<exp>/splatfacto/<time>/nerfstudio_models
--pipeline.model.style-image STYLE.jpg`` continues the splatfacto model with the style objective of
:mod:`stylize3d.nerfstudio.model`; ``ns-viewer`` / ``ns-render`` then show the stylized scene.

:class:`StyleTrainer` differs from nerfstudio's trainer in loading: it refuses to start without a checkpoint or a
style picture (one line on stderr, exit code 2), and a splatfacto checkpoint gives only the Gaussians and the step
count — the optimizers start fresh for the style objective. A stylize-splat checkpoint (it holds
``_model.style_stage``) resumes fully, optimizer states included. In both cases the optimizers are built after
the model is loaded, because splatfacto's ``load_state_dict`` replaces its parameter tensors.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Type

import torch
from nerfstudio.configs.base_config import ViewerConfig
from nerfstudio.data.datamanagers.full_images_datamanager import FullImageDatamanagerConfig
from nerfstudio.data.dataparsers.nerfstudio_dataparser import NerfstudioDataParserConfig
from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.engine.trainer import Trainer, TrainerConfig
from nerfstudio.pipelines.base_pipeline import VanillaPipelineConfig
from nerfstudio.plugins.types import MethodSpecification
from nerfstudio.utils.rich_utils import CONSOLE

from core.errors import StylizeError
from core.io.images import open_checked_image
from stylize3d.nerfstudio.model import STAGE_KEY, StyleSplatModelConfig

METHOD_NAME = "stylize-splat"
LEARNING_RATES = {"features_dc": 0.05, "features_rest": 0.0025 / 20, "means": 1.6e-5, "scales": 0.005,
                  "quats": 0.001, "opacities": 0.05}
"""Adam learning rates per splatfacto group: colour much faster than splatfacto's 0.0025 (a style changes it
wholesale), the geometry groups at splatfacto's rates, means at a tenth of its initial rate."""


def _refuse(message: str) -> None:
    print(f"ns-train {METHOD_NAME}: {message}", file=sys.stderr)
    raise SystemExit(2)


def checkpoint_path(load_dir: Optional[Path], load_step: Optional[int], load_checkpoint: Optional[Path]) -> Path:
    """The checkpoint nerfstudio's options name: ``--load-checkpoint FILE``, or ``step-<load_step>.ckpt`` (default:
    the highest step) in ``--load-dir``. Raises :class:`FileNotFoundError` naming what is missing."""
    if load_dir is None and load_checkpoint is None:
        raise FileNotFoundError("stylize-splat continues a trained splatfacto model: pass --load-dir "
                                "outputs/<experiment>/splatfacto/<timestamp>/nerfstudio_models")
    if load_dir is None:
        if not Path(load_checkpoint).is_file():
            raise FileNotFoundError(f"checkpoint {load_checkpoint} does not exist")
        return Path(load_checkpoint)
    load_dir = Path(load_dir)
    if load_step is not None:
        path = load_dir / f"step-{load_step:09d}.ckpt"
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} does not exist")
        return path
    found = sorted((int(m.group(1)), p) for p in load_dir.glob("step-*.ckpt")
                   if (m := re.fullmatch(r"step-(\d+)\.ckpt", p.name)))
    if not found:
        raise FileNotFoundError(f"{load_dir}: no step-*.ckpt (is it a run's nerfstudio_models folder?)")
    return found[-1][1]


@dataclass
class StyleTrainerConfig(TrainerConfig):
    """nerfstudio's trainer options; ``--load-dir`` (or ``--load-checkpoint``) is required."""

    _target: Type = field(default_factory=lambda: StyleTrainer)


class StyleTrainer(Trainer):
    """nerfstudio's trainer with the loading rules of the module docstring."""

    config: StyleTrainerConfig

    def setup(self, test_mode: Literal["test", "val", "inference"] = "val") -> None:
        model = self.config.pipeline.model
        try:
            self._checkpoint = checkpoint_path(self.config.load_dir, self.config.load_step, self.config.load_checkpoint)
            if model.style_image is None:
                raise FileNotFoundError("no style picture: pass --pipeline.model.style-image STYLE.jpg")
            open_checked_image(Path(model.style_image), load=False)
        except (FileNotFoundError, StylizeError) as exc:
            _refuse(str(exc))
        super().setup(test_mode)

    def _load_checkpoint(self) -> None:
        state = torch.load(self._checkpoint, map_location="cpu")
        self._start_step = state["step"] + 1
        self.pipeline.load_pipeline(state["pipeline"], state["step"])
        self.optimizers = self.setup_optimizers()
        if f"_model.{STAGE_KEY}" in state["pipeline"]:
            self.optimizers.load_optimizers(state["optimizers"])
            if "schedulers" in state and self.config.load_scheduler:
                self.optimizers.load_schedulers(state["schedulers"])
            self.grad_scaler.load_state_dict(state["scalers"])
            CONSOLE.print(f"Resuming stylize-splat from {self._checkpoint} (step {state['step']})")
        else:
            CONSOLE.print(f"Stylizing the splatfacto model of {self._checkpoint} (step {state['step']})")


def trainer_config() -> StyleTrainerConfig:
    """The method's defaults: splatfacto's data pipeline without its 3D points (the checkpoint replaces the
    Gaussians), 1000 style steps after the loaded step, evaluation images every 100 steps."""
    optimizers = {name: {"optimizer": AdamOptimizerConfig(lr=lr, eps=1e-15), "scheduler": None}
                  for name, lr in LEARNING_RATES.items()}
    return StyleTrainerConfig(
        method_name=METHOD_NAME,
        steps_per_eval_image=100,
        steps_per_eval_batch=0,
        steps_per_save=500,
        steps_per_eval_all_images=100000,
        max_num_iterations=1000,
        mixed_precision=False,
        pipeline=VanillaPipelineConfig(
            datamanager=FullImageDatamanagerConfig(dataparser=NerfstudioDataParserConfig(load_3D_points=False),
                                                   cache_images_type="uint8"),
            model=StyleSplatModelConfig(),
        ),
        optimizers=optimizers,
        viewer=ViewerConfig(num_rays_per_chunk=1 << 15),
        vis="viewer",
    )


stylize_splat = MethodSpecification(
    config=trainer_config(),
    description="Stylize a trained splatfacto model after a style picture (stylize-beyond: colour transfer + "
                "NNFM on VGG19, geometry frozen by default). Needs --load-dir and --pipeline.model.style-image.",
)
