"""The core's command table for the ``stylize`` CLI (entry point ``stylize.commands``; contract: :mod:`core.cli`).

Read by ``stylize --help`` without importing any command module (nothing here imports torch); ``stylize CMD``
imports only CMD's registering module.
"""

from core.cli import Command

COMMANDS = {
    "image": Command("stylize an image with one or more style images", "core.image.cli:register"),
    "metrics": Command("measure style distance, content distance and SSIM of a result", "core.metrics_cli:register"),
    "demo": Command("run the showcase on the bundled scenes and write an HTML gallery", "core.demo:register"),
    "gallery": Command("write an explorable HTML gallery for a folder of results and reports",
                       "core.gallery_cli:register"),
    "generate": Command("generate images from prompts in the style of a reference image", "core.priors.cli:register"),
    "learn-style": Command("learn a style token from one painting (InST / ProSpect)",
                           "core.priors.token_cli:register_learn_style"),
    "train-decoder": Command("train the feed-forward style decoder (AdaIN recipe)", "core.train.cli:register"),
    "video": Command("stylize a video with temporal consistency", "core.video.cli:register_video"),
    "metrics-video": Command("measure temporal consistency (warping error) of a stylized video",
                             "core.video.cli:register_metrics_video"),
    "batch": Command("run many stylize jobs (YAML/JSON/CSV) on local workers or a Ray cluster",
                     "core.batch.cli:register"),
}
