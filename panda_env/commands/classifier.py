"""The classifier's commands: ``capture`` labelled images, ``train-classifier``, ``evaluate-classifier``, ``quantize`` (INT8)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from panda_env.commands.common import (
    MODEL_HELP,
    REPLACE_OUTPUT,
    UserError,
    add_command,
    log,
    positive_int,
    seed_int,
)
from panda_env.envs.task import IMAGE_SIZE
from pytest_drlreward.backends import BACKEND_NAMES


def cmd_capture(args) -> int:
    from pytest_drlreward.util.atomic import check_target, check_writable

    check_target(args.out, args.overwrite)  # before the long capture, not after
    check_writable(args.out)
    from panda_env.training.bar import progress
    from panda_env.training.capture import capture, save_capture

    with progress(args.n, "capture", unit="image") as bar:
        data = capture(args.n, args.seed, image_size=args.image_size, render_quality=args.render_quality,
                       progress=bar.update)
    save_capture(data, args.out, overwrite=args.overwrite)
    log.info(f"wrote {args.n} images to {args.out}: {data.manifest['counts']}")
    return 0


def cmd_train_classifier(args) -> int:
    from pytest_drlreward.util.atomic import check_target, check_writable

    check_target(args.out, args.overwrite)  # before training, not after
    check_writable(args.out)
    from panda_env.training.capture import load_capture
    from panda_env.training.classifier import export_trained, train_classifier

    data = load_capture(args.data)
    result = train_classifier(data, epochs=args.epochs, seed=args.seed, architecture=args.architecture)
    model_dir = export_trained(result, data, args.out, seed=args.seed, architecture=args.architecture,
                               overwrite=args.overwrite)
    log.info(f"best validation accuracy {result.val_accuracy:.4f}; held-out accuracy {result.test_accuracy:.4f} "
          f"({result.split['test']} images never trained on)")
    log.info(f"wrote {model_dir.path}")
    return 0


def cmd_evaluate_classifier(args) -> int:
    from panda_env.reward import load_backend
    from panda_env.training.capture import load_capture

    data = load_capture(args.data)
    backend = load_backend(args.backend, args.model)
    predicted = backend.predict_goal(data.images).astype(int)
    correct = predicted == data.labels
    log.info(f"{backend.name} on {args.data}: accuracy {correct.mean():.4f} ({int(correct.sum())}/{len(correct)}); "
          f"false goals {int(((predicted == 1) & (data.labels == 0)).sum())}, "
          f"missed goals {int(((predicted == 0) & (data.labels == 1)).sum())}")
    return 0


def cmd_quantize(args) -> int:
    from panda_env.reward import open_model_dir
    from panda_env.reward.quantize import INT8_SUBDIR, check_int8_target

    directory = open_model_dir(args.model)
    out = args.out if args.out is not None else directory.path / INT8_SUBDIR
    check_int8_target(out, directory, args.overwrite)  # before loading and quantising, not after
    from panda_env.bench.backends import int8_comparison
    from panda_env.reward.quantize import INT8_METADATA, quantize_classifier
    from panda_env.training.capture import load_capture

    data = load_capture(args.data)
    if data.images.shape[1:] != directory.image_shape:
        raise UserError(f"{args.data} holds images of shape {data.images.shape[1:]}, but the classifier "
                        f"{directory.path} takes {directory.image_shape}; capture with --image-size "
                        f"{directory.image_shape[0]}")
    quantize_classifier(directory, data.images, out, subset_size=args.subset, overwrite=args.overwrite)
    calibrated = json.loads((out / INT8_METADATA).read_text())["calibration_images"]
    log.info(f"wrote {out}: INT8 classifier calibrated on {calibrated} of the {len(data.images)} images in {args.data}")
    result = int8_comparison(directory, data.images, data.labels, int8_model=out, rounds=args.rounds)
    log.info(f"INT8 vs f32 argmax agreement {result['agreement']:.4f} ({result['agree']}/{result['n']} images); "
          f"accuracy f32 {result['accuracy']['f32']:.4f}, INT8 {result['accuracy']['int8']:.4f}")
    log.info("OpenVINO median ms per call (f32 and INT8 interleaved):")
    log.info(f"{'batch':>5} {'f32 ms':>8} {'INT8 ms':>8} {'f32/INT8':>9}")
    for batch, ms in result["latency_ms"].items():
        log.info(f"{batch:>5} {ms['f32']:>8.3f} {ms['int8']:>8.3f} {ms['f32'] / ms['int8']:>8.2f}x")
    return 0


COMMANDS = {"capture": cmd_capture, "train-classifier": cmd_train_classifier,
            "evaluate-classifier": cmd_evaluate_classifier, "quantize": cmd_quantize}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register this module's commands."""
    p = add_command(subparsers, "capture", "render labelled camera images for the classifier", run, REPLACE_OUTPUT)
    p.add_argument("--out", required=True, type=Path, help="new capture directory")
    p.add_argument("--n", type=positive_int, default=4000, help="number of images")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the sampled gripper positions")
    p.add_argument("--image-size", type=positive_int, default=IMAGE_SIZE, help="camera image size in pixels")
    p.add_argument("--render-quality", choices=("fast", "full"), default="fast",
                   help="fast: low-polygon arm; full: the original meshes")

    p = add_command(subparsers, "train-classifier", "train SqueezeNet from scratch and export the classifier directory",
                 cmd_train_classifier, REPLACE_OUTPUT)
    p.add_argument("--data", required=True, type=Path, help="capture directory to train on")
    p.add_argument("--out", required=True, type=Path, help="new classifier directory")
    p.add_argument("--epochs", type=positive_int, default=25, help="training epochs")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the split, the weights and the batches")
    p.add_argument("--architecture", choices=("squeezenet1_1", "squeezenet1_0"), default="squeezenet1_1",
                   help="torchvision SqueezeNet variant")

    p = add_command(subparsers, "evaluate-classifier", "accuracy of a classifier on a capture directory",
                 cmd_evaluate_classifier)
    p.add_argument("--data", required=True, type=Path, help="capture directory with labelled images")
    p.add_argument("--model", type=Path, default=None, help=MODEL_HELP)
    p.add_argument("--backend", choices=BACKEND_NAMES, default="openvino", help="engine that runs the classifier")

    p = add_command(subparsers, "quantize", "INT8 OpenVINO model of a classifier (NNCF), calibrated on a capture "
                                  "directory, compared with f32", run, REPLACE_OUTPUT)
    p.add_argument("--data", required=True, type=Path, help="capture directory: calibration and comparison images")
    p.add_argument("--model", type=Path, default=None, help=MODEL_HELP)
    p.add_argument("--out", type=Path, default=None, help="output directory; None: MODEL/int8, which "
                                                          "int8_model=True and bench-backends use")
    p.add_argument("--subset", type=positive_int, default=300, help="calibration images, evenly spaced")
    p.add_argument("--rounds", type=positive_int, default=100, help="timed calls per backend and batch size")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command."""
    return COMMANDS[args.command](args)
