"""Data: dataset sources, multi-view datasets and the DataModule."""

from ssl_it.data.datamodule import SSLDataModule
from ssl_it.data.folder import ImageFolder
from ssl_it.data.ib12 import IB12Mat
from ssl_it.data.probe_data import InMemoryProbeData, ProbeData, Source
from ssl_it.data.sources import Arrays, DataSource, Digits, MNIST5k, SyntheticImages
from ssl_it.data.torchvision_sources import CIFAR10, CIFAR100, MNIST, STL10, SVHN, FashionMNIST

__all__ = [
    "Arrays",
    "CIFAR10",
    "CIFAR100",
    "DataSource",
    "Digits",
    "FashionMNIST",
    "IB12Mat",
    "InMemoryProbeData",
    "ImageFolder",
    "MNIST",
    "MNIST5k",
    "ProbeData",
    "STL10",
    "SVHN",
    "Source",
    "SSLDataModule",
    "SyntheticImages",
]
