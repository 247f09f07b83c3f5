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


def _train_args(p: argparse.ArgumentParser) -> None:
    from model.train import TrainConfig

    defaults = TrainConfig()
    p.add_argument(
        "--data", help="VLSU-layout CSV or JSONL of labelled items (default: the synthetic corpus)"
    )
    p.add_argument("--out", default=defaults.out, help="run folder for checkpoints and figures")
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--corpus-size", type=int, default=defaults.corpus_size)
    p.add_argument("--image-tower", choices=["cnn", "clip"], default="cnn")
    p.add_argument("--clip-path", help="local CLIP/SigLIP vision checkpoint folder (with --image-tower clip)")
    p.add_argument("--text-path", help="local sentence-encoder folder (default: all-MiniLM-L6-v2 package)")
    p.add_argument("--image-size", type=int, default=ModelConfig.image_size)
    p.add_argument("--d-model", type=int, default=ModelConfig.d_model)


def _export_args(p: argparse.ArgumentParser, with_checkpoint: bool) -> None:
    if with_checkpoint:
        p.add_argument("--checkpoint", default="runs/default/best.pt")
    p.add_argument("--artifact", default=str(DEFAULT_ARTIFACT), help="bundle folder to write")
    p.add_argument("--name", default=DEFAULT_NAME)
    p.add_argument("--variants", default="int8,fp16", help="comma list of fp32,int8,fp16")
    p.add_argument(
        "--smooth-alpha",
        type=float,
        default=SMOOTH_ALPHA,
        help="int8: how much of the activations' range smoothing moves into the weights (0 = off)",
    )


def _configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    from model.image_tower import CLIP_MEAN, CLIP_STD
    from model.train import TrainConfig

    model_cfg = ModelConfig(
        image_tower=args.image_tower,
        clip_path=args.clip_path,
        text_path=args.text_path,
        image_size=args.image_size,
        d_model=args.d_model,
    )
    if args.image_tower == "clip":
        model_cfg.image_mean, model_cfg.image_std = CLIP_MEAN, CLIP_STD
    names = {f.name for f in fields(TrainConfig)}
    train_cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    return model_cfg, train_cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("corpus", help="render scenes and show corpus statistics", add_help=False)
    _train_args(sub.add_parser("train", help="train on the default corpus or a labelled file"))
    _export_args(sub.add_parser("export", help="export a checkpoint to ONNX + manifest.json"), True)
    thresholds = sub.add_parser("thresholds", help="choose a checkpoint's default thresholds again")
    thresholds.add_argument("--checkpoint", default="runs/default/best.pt")
    thresholds.add_argument("--min-unsafe-recall", type=float, default=0.97)
    card = sub.add_parser("card", help="write a bundle's figures into the model card (model/README.md)")
    card.add_argument("--artifact", default=str(DEFAULT_ARTIFACT))
    build = sub.add_parser("build", help="train then export: reproduce the shipped default model")
    _train_args(build)
    _export_args(build, False)

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["corpus"]:
        from model.corpus.cli import main as corpus_main

        return corpus_main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "thresholds":
        from model.train import rechoose_thresholds

        print(rechoose_thresholds(Path(args.checkpoint), args.min_unsafe_recall))
        return 0
    if args.command == "card":
        from model.card import update_card

        update_card(Path(__file__).with_name("README.md"), Path(args.artifact) / "manifest.json")
        return 0
    from model.export import export
    from model.train import train

    variants = [v for v in getattr(args, "variants", "").split(",") if v]
    if args.command == "train":
        train(*_configs(args))
        return 0
    checkpoint = Path(args.checkpoint) if args.command == "export" else train(*_configs(args))  # build
    export(checkpoint, Path(args.artifact), args.name, variants, smooth_alpha=args.smooth_alpha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
