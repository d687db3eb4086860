"""DPO Studio's PyTorch engine: TRL's trainers behind DPO Studio's stdio protocol and run folder."""

__version__ = "0.1.0"
