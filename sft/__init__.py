"""medassist.sft: QLoRA/LoRA instruction tuning with TRL's ``SFTTrainer``.

Entry points: ``medassist.sft.train.train(SFTRunConfig)`` (``medassist sft``, ``python -m
medassist.sft``, ``accelerate launch -m medassist.sft``) and ``medassist.sft.merge.merge(adapter,
out)`` (``medassist sft merge``). Configs: ``medassist.sft.config.SFTRunConfig``, recipes in
``configs/sft-*.yaml``.
"""
