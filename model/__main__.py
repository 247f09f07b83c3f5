"""Command line: `python -m model {corpus,train,export,build}`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from model.config import ModelConfig
from model.quantize import SMOOTH_ALPHA

if TYPE_CHECKING:
    from model.train import TrainConfig

DEFAULT_NAME = "glyph-minilm"
DEFAULT_ARTIFACT = Path(__file__).parent / "artifacts" / DEFAULT_NAME


VARIANTS = ("fp32", "int8", "fp16")


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is below 1")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share in (0, 1]")
    return value


def _variants(text: str) -> list[str]:
    """Parse `int8,fp16`: known names only, and one the CPU can serve (fp32 or int8)."""
    chosen = [v.strip() for v in text.split(",") if v.strip()]
    unknown = sorted(set(chosen) - set(VARIANTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    if not {"fp32", "int8"} & set(chosen):
        raise argparse.ArgumentTypeError("a bundle needs a CPU variant: fp32 or int8")
    return chosen


Triple = tuple[float, float, float]


def _clip_preprocessing(folder: str) -> tuple[int, Triple, Triple]:
    """Return the input side, mean and std a CLIP/SigLIP checkpoint was trained with.

    The side comes from config.json; mean and std from preprocessor_config.json when the folder has
    one, else by family (SigLIP normalises with 0.5, CLIP with its own constants).
    """
    import json

    from model.image_tower import CLIP_MEAN, CLIP_STD

    config = json.loads((Path(folder) / "config.json").read_text())
    side = int(config.get("vision_config", config).get("image_size", 224))
    processor = Path(folder) / "preprocessor_config.json"
    if processor.is_file():
        given = json.loads(processor.read_text())
        if len(given.get("image_mean", ())) == 3 and len(given.get("image_std", ())) == 3:
            mean, std = given["image_mean"], given["image_std"]
            return side, (mean[0], mean[1], mean[2]), (std[0], std[1], std[2])
    if "siglip" in str(config.get("model_type", "")):
        return side, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    return side, CLIP_MEAN, CLIP_STD


def _train_args(p: argparse.ArgumentParser) -> None:
    from model.train import TrainConfig

    defaults = TrainConfig()
    p.add_argument(
        "--data", help="VLSU-layout CSV or JSONL of labelled items (default: the synthetic corpus)"
    )
    p.add_argument(
        "--add",
        help="VLSU-layout CSV or JSONL of labelled items added to the training split (validation and test "
        "stay those of the corpus or --data)",
    )
    p.add_argument(
        "--datasets",
        help="folder of the registered public datasets (`python -m model datasets check DIR`): train on "
        "them too, with their held-out sources as the report split",
    )
    p.add_argument(
        "--long-texts", type=int, default=defaults.long_texts, help="long texts made, with --datasets"
    )
    p.add_argument(
        "--tuned-text-layers",
        type=int,
        default=ModelConfig.tuned_text_layers,
        help="top text-encoder layers fine-tuned in a text-only stage before the fusion trains (0 = frozen)",
    )
    p.add_argument("--text-stage-epochs", type=_at_least_one, default=defaults.text_stage_epochs)
    p.add_argument("--out", default=defaults.out, help="run folder for checkpoints and figures")
    p.add_argument("--epochs", type=_at_least_one, default=defaults.epochs)
    p.add_argument("--batch-size", type=_at_least_one, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--corpus-size", type=int, default=defaults.corpus_size)
    p.add_argument(
        "--train-share",
        type=_share,
        default=defaults.train_share,
        help="share of the corpus's (or --data's) training split kept, a seeded draw (--add items all kept)",
    )
    p.add_argument("--image-tower", choices=["cnn", "clip", "nsfwjs"], default="cnn")
    p.add_argument("--clip-path", help="local CLIP/SigLIP vision checkpoint folder (with --image-tower clip)")
    p.add_argument("--text-path", help="local sentence-encoder folder (default: all-MiniLM-L6-v2 package)")
    p.add_argument(
        "--image-size",
        type=_at_least_one,
        help=f"input side (default: {ModelConfig.image_size} for the CNN, the checkpoint's for CLIP)",
    )
    p.add_argument("--d-model", type=int, default=ModelConfig.d_model)


def _export_args(p: argparse.ArgumentParser, with_checkpoint: bool) -> None:
    if with_checkpoint:
        p.add_argument("--checkpoint", default="runs/default/best.pt")
    p.add_argument("--artifact", default=str(DEFAULT_ARTIFACT), help="bundle folder to write")
    p.add_argument(
        "--name",
        help=f"model name in the manifest (default: the bundle's own when re-exporting, else {DEFAULT_NAME})",
    )
    p.add_argument("--variants", type=_variants, default="int8,fp16", help="comma list of fp32,int8,fp16")
    p.add_argument(
        "--smooth-alpha",
        type=float,
        default=SMOOTH_ALPHA,
        help="int8: how much of the activations' range smoothing moves into the weights (0 = off)",
    )


def _configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    from model.train import TrainConfig

    model_cfg = ModelConfig(
        image_tower=args.image_tower,
        clip_path=args.clip_path,
        text_path=args.text_path,
        image_size=args.image_size or ModelConfig.image_size,
        d_model=args.d_model,
        tuned_text_layers=args.tuned_text_layers,
    )
    if args.image_tower == "clip":
        side, model_cfg.image_mean, model_cfg.image_std = _clip_preprocessing(args.clip_path)
        model_cfg.image_size = args.image_size or side
    if args.image_tower == "nsfwjs":  # the converted graph normalises itself and takes 224x224 only
        from model.nsfwjs import INPUT_SIZE

        model_cfg.image_size, model_cfg.image_mean, model_cfg.image_std = INPUT_SIZE, (0.0,) * 3, (1.0,) * 3
    if args.data:  # export and `thresholds` read it again, from wherever they are run
        args.data = str(Path(args.data).resolve())  # (not `add`: the checkpoint keeps its texts)
    if args.datasets:
        args.datasets = str(Path(args.datasets).resolve())
    names = {f.name for f in fields(TrainConfig)}
    train_cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    return model_cfg, train_cfg


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # handed off before the training parsers are built: `corpus` and `datasets` run without torch
    if argv[:1] == ["corpus"]:
        from model.corpus.cli import main as corpus_main

        return corpus_main(argv[1:])
    if argv[:1] == ["datasets"]:
        from model.datasets.cli import main as datasets_main

        return datasets_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("corpus", help="render scenes and show corpus statistics", add_help=False)
    sub.add_parser("datasets", help="check, download and list the public datasets", add_help=False)
    _train_args(sub.add_parser("train", help="train on the default corpus or a labelled file"))
    _export_args(sub.add_parser("export", help="export a checkpoint to ONNX + manifest.json"), True)
    thresholds = sub.add_parser("thresholds", help="choose a checkpoint's default thresholds again")
    thresholds.add_argument("--checkpoint", default="runs/default/best.pt")
    thresholds.add_argument("--min-unsafe-recall", type=float, default=0.97)
    card = sub.add_parser("card", help="write a bundle's figures into the model card (model/README.md)")
    card.add_argument("--artifact", default=str(DEFAULT_ARTIFACT))
    convert = sub.add_parser(
        "nsfwjs", help="convert nsfwjs's MobileNetV2-mid image model (an npm tarball) into model/towers/"
    )
    convert.add_argument("--tarball", required=True, help="nsfwjs-4.4.0.tgz, from `npm pack nsfwjs@4.4.0`")
    convert.add_argument("--out", default=None, help="output folder (default: model/towers/nsfwjs-mid)")
    build = sub.add_parser("build", help="train then export: reproduce the shipped default model")
    _train_args(build)
    _export_args(build, False)

    args = parser.parse_args(argv)
    if args.command in ("train", "build"):
        _check_train_args(parser, args)
    from model.data import DataError  # torch: not for `--help` or `corpus`

    try:
        return _run(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _check_train_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse settings that would fail minutes into a run, before anything starts."""
    for option in ("data", "add"):
        if getattr(args, option) and not Path(getattr(args, option)).is_file():
            parser.error(f"--{option} {getattr(args, option)}: no such file")
    if args.image_tower == "clip":
        if not args.clip_path or not (Path(args.clip_path) / "config.json").is_file():
            parser.error("--image-tower clip needs --clip-path: a local checkpoint folder with config.json")
        return
    if args.image_tower == "nsfwjs":
        if args.image_size not in (None, 224):
            parser.error(f"--image-size {args.image_size}: the nsfwjs tower takes 224x224 pictures only")
        return
    cnn = ModelConfig()
    step = 2 ** len(cnn.cnn_channels)
    if args.image_size is not None and args.image_size % step:
        parser.error(f"--image-size {args.image_size}: the CNN tower needs a multiple of {step}")
    if args.d_model % cnn.n_heads:
        parser.error(f"--d-model {args.d_model}: must be a multiple of the {cnn.n_heads} attention heads")


def bundle_name(checkpoint: Path) -> str:
    """Return the name of the bundle a checkpoint was shipped in (its manifest beside it), else the default.

    Re-exporting a bundle's `checkpoint.pt` (to add fp16, say) keeps the model's name.
    """
    import json

    manifest = checkpoint.parent / "manifest.json"
    try:
        return str(json.loads(manifest.read_text())["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_NAME


def _run(args: argparse.Namespace) -> int:
    if args.command == "thresholds":
        from model.train import rechoose_thresholds

        print(rechoose_thresholds(Path(args.checkpoint), args.min_unsafe_recall))
        return 0
    if args.command == "nsfwjs":
        from model.nsfwjs import TOWER_DIR, convert_package

        print(convert_package(Path(args.tarball), Path(args.out) if args.out else TOWER_DIR))
        return 0
    if args.command == "card":
        from model.card import update_card

        update_card(Path(__file__).with_name("README.md"), Path(args.artifact) / "manifest.json")
        return 0
    from model.export import export
    from model.train import train

    variants: list[str] = getattr(args, "variants", [])
    if args.command == "train":
        train(*_configs(args))
        return 0
    checkpoint = Path(args.checkpoint) if args.command == "export" else train(*_configs(args))  # build
    name = args.name or bundle_name(checkpoint)
    export(checkpoint, Path(args.artifact), name, variants, smooth_alpha=args.smooth_alpha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
