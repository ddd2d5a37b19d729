"""Visual encoder: the torchvision ResNet-18 architecture, with width and output-stride options.

Parameter names equal torchvision's ``resnet18`` (``conv1``, ``bn1``, ``layer1.0.conv1`` ...), so its ImageNet
state dict loads at ``width=64`` from an explicit path. Nothing is ever downloaded.
"""

from __future__ import annotations

import logging
import os

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1

from tavlo_model.errors import TavloError

log = logging.getLogger(__name__)


def _conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


class ResNet18Encoder(nn.Module):
    """ResNet-18 trunk without pooling/fc: ``(N, 3, S, S) -> (N, 8*width, S', S')``.

    Args:
        width: channels of the first stage (torchvision: 64); stages have width x (1, 2, 4, 8).
        output_stride: 32 as torchvision; 16 or 8 keep the resolution of the last stage(s) (stride 1, no dilation).
        stages: residual stages used (4 = all; 2 or 3 stop early: a smaller receptive field, fewer FLOPs).
    """

    def __init__(self, width: int = 64, output_stride: int = 32, stages: int = 4):
        super().__init__()
        self.width = width
        self.output_stride = output_stride
        self.stages = stages
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        strides = {32: (2, 2, 2), 16: (2, 2, 1), 8: (2, 1, 1)}[output_stride]
        self.layer1 = self._make_layer(width, 1)
        self.layer2 = self._make_layer(2 * width, strides[0])
        self.layer3 = self._make_layer(4 * width, strides[1])
        self.layer4 = self._make_layer(8 * width, strides[2])
        for i in range(stages + 1, 5):  # stages past `stages` are not used
            delattr(self, f"layer{i}")
        self.stage_strides = (1, *strides)[:stages]
        self.out_channels = width * 2 ** (stages - 1)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        blocks = [BasicBlock(self.inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*blocks)

    def grid_size(self, img_size: int) -> int:
        """Side of the output feature map for a square ``img_size`` input."""
        s = _conv_out(_conv_out(img_size, 7, 2, 3), 3, 2, 1)  # conv1, maxpool
        for stride in self.stage_strides[1:]:
            s = _conv_out(s, 3, stride, 1)
        return s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, self.stages + 1):
            x = getattr(self, f"layer{i}")(x)
        return x

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load torchvision ``resnet18`` weights from ``path`` (the classifier ``fc.*`` is dropped).

        Raises:
            TavloError: the file is missing or its tensors do not fit this encoder (e.g. ``width != 64``).
        """
        state = read_weights(path)
        dropped = ("fc.", *(f"layer{i}." for i in range(self.stages + 1, 5)))
        state = {k: v for k, v in state.items() if not k.startswith(dropped)}
        own = self.state_dict()
        bad = [f"{k}: expected {tuple(own[k].shape)}, got {tuple(v.shape)}" for k, v in state.items()
               if k in own and own[k].shape != v.shape]
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if bad or missing or unexpected:
            raise TavloError(f"visual weights {path}: not a torchvision resnet18 state dict for width {self.width}: "
                             f"{len(bad)} shape mismatch(es) {bad[:3]}, missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]}")
        self.load_state_dict(state)
        log.info("loaded visual encoder weights from %s", path)


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a torchvision-style ``.pth`` state dict, read with ``weights_only=True``.

    Raises:
        TavloError: the file is missing, is not a weights-only torch file (e.g. a pickled model), or holds no
            mapping of names to tensors.
    """
    if not os.path.isfile(path):
        raise TavloError(f"visual weights {path}: file not found (weights are never downloaded)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors: a pickled model, a foreign or corrupt file
        raise TavloError(f"visual weights {path}: expected a weights-only torch state dict (torch.save of "
                         f"model.state_dict()), got a file torch.load(weights_only=True) refuses: "
                         f"{str(exc).splitlines()[0][:200]}") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TavloError(f"visual weights {path}: expected a mapping of parameter names to tensors, "
                         f"got {type(state).__name__}")
    return state
