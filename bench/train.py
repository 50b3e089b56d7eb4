"""Train CN1, CN2 or CNBlind from clean images: `python -m bench.train model=cn2 sigma=50`.

Noise is synthesised on the fly (bench.patches) under the benchmark's noise models: `noise=clipped`
trains a network for the paper's clipped protocol (`python -m bench.train model=cn2 sigma=50
noise=clipped init_from=cn2_sigma50`). The run checkpoints every `checkpoint_every_s`
seconds and on interruption, and the same command resumes from the checkpoint; given a seed the
run is deterministic (on a CPU; cuDNN's fastest GPU kernels are not bit-reproducible).
`device=cuda` trains on a GPU with the same code. When it finishes it exports the weights, with a
record of the command, recipe, training files and wall time, to `methods/weights/`.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from bench.errors import BenchError
from bench.methods._convnet import KERNEL, Architecture, DenoisingConvNet, denoise_with, load_weights, save_weights
from bench.methods.convnets import MODEL_SPECS, WEIGHTS_DIR, ModelSpec, weight_file
from bench.patches import PatchSampler
from bench.protocol import DEFAULT_NOISE, noisy_version, psnr, validate_noise_model
from bench.provenance import command_line
from bench.training_sets import TRAINING_SETS, load_training_images, recorded_files

VALIDATION_SIGMAS_BLIND = (25.0, 50.0, 100.0)


@dataclass
class Progress:
    """Everything a resumed run needs beyond the model and optimiser states."""

    stage: int = 0
    step: int = 0  # updates done in the current stage
    elapsed_s: float = 0.0
    history: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)
    done: bool = False
    parent: dict | None = None  # the shipped network this run started from (`init_from`), if any


def stage_depths(spec: ModelSpec, layerwise: bool) -> list[int]:
    """Hidden-layer counts of the successive stages (greedy growth: 1, 2, …, L)."""
    return list(range(1, spec.hidden_layers + 1)) if layerwise else [spec.hidden_layers]


def steps_per_stage(recipe: DictConfig, training_pixels: int) -> int:
    """Updates per stage: `steps` if given, else `epochs` passes over the training pixels."""
    if recipe.get("steps"):
        return int(recipe.steps)
    pixels_per_update = recipe.images_per_batch * recipe.patches_per_image * recipe.patch**2
    return math.ceil(recipe.epochs * training_pixels / pixels_per_update)


def grow(previous: DenoisingConvNet, depth: int) -> DenoisingConvNet:
    """A network of `depth` hidden layers inheriting every hidden layer of `previous`.

    The output layer is not copied (the paper discards it); connection patterns agree because
    they come from the same seed, drawn layer by layer.
    """
    net = DenoisingConvNet(Architecture(hidden_layers=depth))
    net.first.load_state_dict(previous.first.state_dict())
    for layer, (weight, bias) in enumerate(zip(previous.hidden_weights, previous.hidden_biases)):
        net.hidden_weights[layer].data.copy_(weight.data)
        net.hidden_biases[layer].data.copy_(bias.data)
    return net


def scaled_init_(net: DenoisingConvNet) -> None:
    """Glorot-uniform weights scaled by 4 and zero biases.

    A centred logistic has slope ¼ at 0, so Glorot's scale (made for slope-1 units) would shrink
    the signal 4× per layer and leave a 6-layer stack with a flat-grey output for hundreds of
    updates; ×4 keeps activations and gradients of order one through every layer.
    """
    with torch.no_grad():
        for weight, bias in [(net.first.weight, net.first.bias), (net.output.weight, net.output.bias)] + list(
            zip(net.hidden_weights, net.hidden_biases)
        ):
            fan_in = weight.shape[1] * KERNEL * KERNEL
            bound = 4.0 * math.sqrt(3.0 / fan_in)
            weight.uniform_(-bound, bound)
            bias.zero_()


def parent_weight_file(name: str) -> Path:
    """`init_from` as given: a weight file's path, or the stem of a shipped one (`cn2_sigma25`)."""
    path = Path(name).expanduser()
    return path if path.suffix == ".pt" else WEIGHTS_DIR / f"{name}.pt"


def lineage_wall_time_s(record: dict) -> float:
    """Wall time of a network and every network it was continued from (`init_from`), each on the
    machine its record names."""
    return record.get("lineage_wall_time_s", record["wall_time_s"])


def start_from_parent(cfg: DictConfig, spec: ModelSpec, depth: int) -> tuple[DenoisingConvNet, dict]:
    """A trained network to continue from, and a summary of it for the new weights' record.

    Refused when the parent saw images outside this model's training set (CN1 may not start
    from CN2, which would smuggle CN2's extra images into CN1) or has another depth.
    """
    path = parent_weight_file(cfg.init_from)
    parent, record = load_weights(path)
    extra = set(record.get("training_files", [])) - set(recorded_files(spec.training_set))
    if extra:
        raise BenchError(
            f"{cfg.model} cannot start from {path.name}: it was trained on {len(extra)} images outside "
            f"{cfg.model}'s training set ({spec.training_set!r}), e.g. {sorted(extra)[0]}"
        )
    if parent.arch.hidden_layers != depth:
        raise BenchError(
            f"{cfg.model} cannot start from {path.name}: it has {parent.arch.hidden_layers} hidden layers, "
            f"this stage trains {depth}"
        )
    summary = {
        "file": path.name,
        "sha256": record["sha256"],
        "model": record.get("model"),
        "sigma": record.get("sigma"),
        "noise": record.get("noise", DEFAULT_NOISE),
        "validation_psnr_db": record.get("validation_psnr_db"),
        "wall_time_s": record.get("wall_time_s"),
        "lineage_wall_time_s": lineage_wall_time_s(record),
        "sessions": record.get("sessions", []),
    }
    return parent.train(), summary


def training_device(name: str) -> torch.device:
    """The device named by the config (`cpu` or `cuda`), refused clearly when it is absent."""
    if name not in ("cpu", "cuda"):
        raise BenchError(f"unknown device {name!r}; use cpu or cuda")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise BenchError("device=cuda but this PyTorch sees no CUDA GPU; use device=cpu")
        torch.backends.cudnn.benchmark = True  # fixed batch shapes: pick the fastest kernels once
    return torch.device(name)


def machine_description(cfg: DictConfig, device: torch.device) -> str:
    """Where the weights were trained, for the record (wall times mean little without it)."""
    host = platform.processor() or platform.machine()
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), host {host}"
    return f"{host}, {cfg.threads} threads"


def make_optimizer(net: DenoisingConvNet, recipe: DictConfig, depth: int) -> torch.optim.Optimizer:
    """Hidden layers at `lr`; the output layer at `output_lr` once the net has 2+ hidden layers."""
    output_lr = recipe.output_lr if depth >= 2 else recipe.lr
    hidden = [p for name, p in net.named_parameters() if not name.startswith("output.")]
    groups = [
        {"params": hidden, "lr": recipe.lr, "base_lr": recipe.lr},
        {"params": list(net.output.parameters()), "lr": output_lr, "base_lr": output_lr},
    ]
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups)
    raise BenchError(f"unknown optimizer {recipe.optimizer!r}; use adam or sgd")


def set_learning_rate(optimizer: torch.optim.Optimizer, recipe: DictConfig, step: int, total: int) -> None:
    """Cosine decay from each group's base rate to base·final_lr_fraction."""
    fraction = recipe.final_lr_fraction
    scale = fraction + (1 - fraction) * 0.5 * (1 + math.cos(math.pi * min(step / total, 1.0)))
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * scale


class Validator:
    """Mean PSNR on the held-out crops with fixed noise (several σ for the blind model)."""

    def __init__(self, sigmas: tuple[float, ...], seed: int, noise: str) -> None:
        ids = TRAINING_SETS["validation"]
        self.pairs = [
            (clean, noisy_version(clean, "train400", image_id, sigma, seed, noise))
            for image_id, clean in zip(ids, load_training_images("validation"))
            for sigma in sigmas
        ]

    def __call__(self, net: DenoisingConvNet) -> float:
        net.eval()
        value = float(np.mean([psnr(clean, denoise_with(net, noisy)) for clean, noisy in self.pairs]))
        net.train()
        return value


def save_checkpoint(path: Path, net: DenoisingConvNet, optimizer, sampler: PatchSampler, progress: Progress) -> None:
    """Write atomically (temp file + rename) so a kill mid-write leaves the old checkpoint intact."""
    state = {
        "depth": net.arch.hidden_layers,
        "model": net.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": sampler.generator.get_state(),
        "progress": progress.__dict__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def train(cfg: DictConfig) -> Path | None:
    """Run (or resume) one training job; returns the exported weight file, if any."""
    if cfg.model not in MODEL_SPECS:
        raise BenchError(f"unknown model {cfg.model!r}; available: {', '.join(MODEL_SPECS)}")
    spec, recipe = MODEL_SPECS[cfg.model], cfg.recipe
    device = training_device(cfg.device)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    images = load_training_images(spec.training_set)
    depths = stage_depths(spec, recipe.layerwise)
    total_steps = steps_per_stage(recipe, sum(image.size for image in images))
    checkpoint_path = Path(cfg.checkpoint_dir) / "last.pt"
    noise = validate_noise_model(cfg.noise)
    validator = Validator(VALIDATION_SIGMAS_BLIND if spec.blind else (float(cfg.sigma),), cfg.seed, noise)

    if checkpoint_path.is_file():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        progress = Progress(**state["progress"])
        net = DenoisingConvNet(Architecture(hidden_layers=state["depth"]))
        net.load_state_dict(state["model"])
    else:
        state, progress = None, Progress()
        if cfg.init_from:
            net, progress.parent = start_from_parent(cfg, spec, depths[0])
        else:
            net = DenoisingConvNet(Architecture(hidden_layers=depths[0]))
            if recipe.init == "scaled":
                scaled_init_(net)
    if progress.done and progress.step >= total_steps:
        print(f"{checkpoint_path} is finished; pass a larger recipe.steps to train it further")
        return None
    progress.done = False  # a larger recipe.steps extends a finished run (a warm restart of the schedule)
    progress.sessions.append({"started": datetime.now(timezone.utc).isoformat(), "command": command_line()})

    for stage in range(progress.stage, len(depths)):
        depth = depths[stage]
        if stage != progress.stage:  # entering a new stage: grow the previous network
            net, progress.stage, progress.step = grow(net, depth), stage, 0
            state = None
        net = net.to(device, memory_format=torch.channels_last)  # ~3× faster convolutions on a CPU
        optimizer = make_optimizer(net, recipe, depth)
        sampler = PatchSampler(images, net.arch.margin, cfg.seed + stage, noise)
        if state is not None:
            optimizer.load_state_dict(state["optimizer"])
            sampler.generator.set_state(state["generator"])
            state = None
        run_stage(cfg, spec, net, optimizer, sampler, validator, progress, total_steps, checkpoint_path, len(depths))

    progress.done = True
    final_psnr = validator(net)
    progress.history.append({"stage": progress.stage, "step": progress.step, "val_psnr": final_psnr})
    save_checkpoint(checkpoint_path, net, optimizer, sampler, progress)
    if not cfg.export:
        return None
    weights_dir = Path(cfg.weights_dir) if cfg.weights_dir else WEIGHTS_DIR
    target = weight_file(cfg.model, None if spec.blind else float(cfg.sigma), recipe.name, weights_dir, noise)
    record = export_record(cfg, spec, progress, total_steps, final_psnr, machine_description(cfg, device))
    save_weights(net, target, record)
    print(f"validation PSNR {final_psnr:.2f} dB; weights written to {target}")
    return target


def run_stage(cfg, spec, net, optimizer, sampler, validator, progress, total_steps, checkpoint_path, stages) -> None:
    """Updates of one stage, with progress bar, periodic validation and checkpoints."""
    recipe = cfg.recipe
    batch = recipe.images_per_batch * recipe.patches_per_image
    last_checkpoint = time.monotonic()
    started, elapsed_before = time.monotonic(), progress.elapsed_s
    running_loss = None
    device = net.first.weight.device
    bar = tqdm(
        total=total_steps,
        initial=progress.step,
        desc=f"{cfg.model} σ={'blind' if spec.blind else cfg.sigma} stage {progress.stage + 1}/{stages}",
        dynamic_ncols=True,
        mininterval=0.5 if sys.stderr.isatty() else 30.0,  # keep background logs small
    )
    try:
        while progress.step < total_steps:
            if spec.blind:
                sigmas = torch.rand(batch, generator=sampler.generator) * cfg.sigma_max
            else:
                sigmas = torch.full((batch,), float(cfg.sigma))
            noisy, clean = sampler.sample(
                recipe.images_per_batch, recipe.patches_per_image, recipe.patch, sigmas, recipe.augment
            )
            noisy = noisy.to(device).contiguous(memory_format=torch.channels_last)
            clean = clean.to(device)
            set_learning_rate(optimizer, recipe, progress.step, total_steps)
            loss = torch.mean((net(noisy) - clean) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            progress.step += 1
            running_loss = loss.item() if running_loss is None else 0.95 * running_loss + 0.05 * loss.item()
            progress.elapsed_s = elapsed_before + time.monotonic() - started
            postfix = {"loss_psnr": f"{-10 * math.log10(max(running_loss, 1e-12)):.2f}"}
            if progress.step % cfg.validate_every == 0:
                value = validator(net)
                progress.history.append({"stage": progress.stage, "step": progress.step, "val_psnr": value})
                tqdm.write(f"step {progress.step}: validation PSNR {value:.2f} dB")
            if progress.history:
                postfix["val_psnr"] = f"{progress.history[-1]['val_psnr']:.2f}"
            bar.set_postfix(postfix, refresh=False)
            bar.update()
            if time.monotonic() - last_checkpoint > cfg.checkpoint_every_s:
                save_checkpoint(checkpoint_path, net, optimizer, sampler, progress)
                last_checkpoint = time.monotonic()
    except KeyboardInterrupt:
        save_checkpoint(checkpoint_path, net, optimizer, sampler, progress)
        bar.close()
        raise
    bar.close()
    save_checkpoint(checkpoint_path, net, optimizer, sampler, progress)


def export_record(
    cfg: DictConfig, spec: ModelSpec, progress: Progress, total_steps: int, final_psnr: float, machine: str
) -> dict:
    """Provenance written beside the weights: how, on what and for how long they were trained."""
    return {
        "model": cfg.model,
        "sigma": None if spec.blind else float(cfg.sigma),
        "sigma_range": [0, cfg.sigma_max] if spec.blind else None,
        "noise": cfg.noise,
        "recipe": OmegaConf.to_container(cfg.recipe),
        "seed": cfg.seed,
        "steps_per_stage": total_steps,
        "stages": progress.stage + 1,
        "training_set": spec.training_set,
        "training_files": recorded_files(spec.training_set),
        "validation_files": recorded_files("validation"),
        "validation_psnr_db": round(final_psnr, 3),
        "history": progress.history,
        "wall_time_s": round(progress.elapsed_s, 1),
        "initialised_from": progress.parent,
        "lineage_wall_time_s": round(progress.elapsed_s + (progress.parent or {}).get("lineage_wall_time_s", 0), 1),
        "sessions": progress.sessions,
        "machine": machine,
        "torch": torch.__version__,
    }


@hydra.main(config_path="pkg://bench.conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        train(cfg)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
