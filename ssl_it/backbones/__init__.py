"""Backbones: plain torch modules mapping ``(batch, *input_shape)`` to
``(batch, out_dim)``, each naming its tap points for forward hooks."""

from ssl_it.backbones.base import Backbone
from ssl_it.backbones.convnet import ConvNet
from ssl_it.backbones.mlp import MLP
from ssl_it.backbones.resnet import ResNet
from ssl_it.backbones.timm_backbone import TimmBackbone
from ssl_it.backbones.vit import ViT

__all__ = ["Backbone", "ConvNet", "MLP", "ResNet", "TimmBackbone", "ViT"]
