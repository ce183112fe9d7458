#!/usr/bin/env python3
"""Harvests the PyTorch part of `artifact check`'s allowlist: every (module, qualname) pair
that `torch.save` writes into a checkpoint, as CPython's C unpickler asks `find_class` for it.

The corpus is made here with the pinned torch (fixtures/requirements-torch.txt): state dicts
of common modules in every dtype torch saves, whole-module saves, optimizer and scheduler
state dicts, and Lightning-style checkpoint dicts, each in the zip format and the legacy
one. Nothing is loaded for real: each pickle is read by the C unpickler with a recording
`find_class` that returns an inert stand-in, so the names are exactly what a load would
import and no torch code runs.

Writes src/rules/data/allowlist-torch.tsv. torch is a large install, so it lives in its own
environment, not in CI's:

    python3 -m venv .venv-torch
    .venv-torch/bin/pip install -r fixtures/requirements-torch.txt
    .venv-torch/bin/python scripts/harvest_torch_allowlist.py
"""

import _compat_pickle
import io
import os
import pickle
import sys
import tempfile
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "rules", "data", "allowlist-torch.tsv")

DTYPES = [
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64, torch.complex128,
    torch.uint16, torch.uint32, torch.uint64, torch.float8_e4m3fn, torch.float8_e5m2,
]


class _InertType(type):
    def __setitem__(cls, key, value):
        pass


class Inert(metaclass=_InertType):
    """Whatever a load would build: every call, NEWOBJ, item and state gives back this same
    class, so the unpickler reads on and nothing of torch's runs."""

    def __new__(cls, *args, **kwargs):
        return Inert

    @staticmethod
    def __setstate__(state):
        pass

    @staticmethod
    def append(item):
        pass

    @staticmethod
    def extend(items):
        pass


class Recording(pickle.Unpickler):
    def __init__(self, file, seen, proto):
        super().__init__(file)
        self.seen = seen
        self.proto = proto

    def find_class(self, module, name):
        # What find_class imports: `_compat_pickle`'s renames apply below protocol 3 (as
        # in scripts/harvest_allowlist.py, which records the same way).
        if self.proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        self.seen.add((module, name))
        return Inert

    def persistent_load(self, pid):
        return Inert


def protocol_of(head):
    return head[1] if head[:1] == b"\x80" else 0


def record_file(path, seen):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".pkl"):
                    data = z.read(name)
                    Recording(io.BytesIO(data), seen, protocol_of(data)).load()
    else:
        with open(path, "rb") as f:
            for _ in range(5):
                head = f.peek(2)[:2]
                Recording(f, seen, protocol_of(head)).load()


def modules():
    """Common layers, built with their defaults (or the smallest arguments they need)."""
    nn = torch.nn
    return [
        nn.Linear(4, 3), nn.Bilinear(2, 2, 2), nn.Conv1d(2, 2, 3), nn.Conv2d(2, 2, 3),
        nn.Conv3d(2, 2, 3), nn.ConvTranspose2d(2, 2, 3), nn.BatchNorm1d(3), nn.BatchNorm2d(3),
        nn.LayerNorm(3), nn.GroupNorm(1, 2), nn.InstanceNorm2d(2, affine=True),
        nn.Embedding(5, 3), nn.EmbeddingBag(5, 3), nn.LSTM(3, 4), nn.GRU(3, 4), nn.RNN(3, 4),
        nn.MultiheadAttention(4, 2),
        nn.TransformerEncoderLayer(4, 2, dim_feedforward=8),
        nn.TransformerDecoderLayer(4, 2, dim_feedforward=8),
        nn.Dropout(), nn.ReLU(), nn.GELU(), nn.SiLU(), nn.Sigmoid(), nn.Tanh(),
        nn.Softmax(dim=-1), nn.LeakyReLU(), nn.ELU(), nn.PReLU(), nn.Identity(),
        nn.Flatten(), nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1),
        nn.Sequential(nn.Linear(4, 3), nn.ReLU()), nn.ModuleList([nn.Linear(2, 2)]),
        nn.ModuleDict({"a": nn.Linear(2, 2)}), nn.CrossEntropyLoss(), nn.MSELoss(),
    ]


def corpus(folder):
    """Yields (name, object) pairs: what users torch.save."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    yield "tensors", {str(d): torch.zeros(3, dtype=d) for d in DTYPES}
    every_dtype = {getattr(torch, n) for n in dir(torch) if isinstance(getattr(torch, n), torch.dtype)}
    yield "dtypes", sorted(every_dtype, key=str)
    yield "parameter", torch.nn.Parameter(torch.ones(2))
    yield "size_device_dtype", {"size": torch.Size([2, 3]), "device": torch.device("cpu"),
                                "dtype": torch.float32}
    for i, m in enumerate(modules()):
        yield f"state_dict_{i}", m.state_dict()
        yield f"module_{i}", m
    optimizers = [
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        torch.optim.Adam(model.parameters()), torch.optim.AdamW(model.parameters()),
        torch.optim.RMSprop(model.parameters()), torch.optim.Adagrad(model.parameters()),
    ]
    loss = model(torch.ones(1, 4)).sum()
    loss.backward()
    for i, opt in enumerate(optimizers):
        opt.step()
        yield f"optimizer_{i}", opt.state_dict()
    sched = torch.optim.lr_scheduler.StepLR(optimizers[1], step_size=2)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizers[2], T_max=5)
    yield "scheduler", [sched.state_dict(), cosine.state_dict()]
    yield "lightning", lightning_checkpoint(model, optimizers[1], sched)


def lightning_checkpoint(model, optimizer, scheduler):
    """The dict Lightning's `trainer.save_checkpoint` writes (its keys and value types)."""
    return {
        "epoch": 3,
        "global_step": 120,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": model.state_dict(),
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 4}}}},
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val_loss'}": {
                "monitor": "val_loss",
                "best_model_score": torch.tensor(0.25),
                "best_model_path": "/ckpt/epoch=3.ckpt",
                "current_score": torch.tensor(0.25),
                "dirpath": "/ckpt",
                "best_k_models": {"/ckpt/epoch=3.ckpt": torch.tensor(0.25)},
            },
            "EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}": {
                "wait_count": 0, "stopped_epoch": 0, "best_score": torch.tensor(0.25), "patience": 3,
            },
        },
        "optimizer_states": [optimizer.state_dict()],
        "lr_schedulers": [scheduler.state_dict()],
        "hparams_name": "kwargs",
        "hyper_parameters": {"lr": 0.001, "hidden": 8, "layers": [8, 2]},
    }


def main():
    seen = set()
    with tempfile.TemporaryDirectory() as folder:
        for name, obj in corpus(folder):
            for legacy in (False, True):
                path = os.path.join(folder, f"{name}-{legacy}.pt")
                torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
                record_file(path, seen)
    with open(OUT, "w") as f:
        f.write(f"# Generated by scripts/harvest_torch_allowlist.py (torch {torch.__version__}); "
                "do not edit. module<TAB>qualname\n")
        for module, name in sorted(seen):
            f.write(f"{module}\t{name}\n")
    print(f"{len(seen)} globals, torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
