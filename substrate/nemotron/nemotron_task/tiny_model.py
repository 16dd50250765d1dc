"""The tiny NemotronH stand-in, built at run time with no download (frozen).

Same architecture as Nemotron-3-Nano (Mamba-2 + attention + MoE layers, pattern ``M*E*``) at hidden
size 64 with 4 routed experts (~0.2M parameters), random init from a fixed seed, and a byte-level
BPE tokenizer trained with `tokenizers` on the train split's prompts. Both are deterministic, so
run.py and evaluate.py rebuild the identical base.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import NemotronHConfig, NemotronHForCausalLM, PreTrainedTokenizerFast

from .recipe import TINY_MODEL_ID

TINY_SEED = 1234
# A final RMSNorm feeds lm_head, so with the usual 0.02 init every logit stays within ~0.2 of the
# others and no LoRA on the inner layers can sharpen the output (loss sticks at ln(vocab)). A wider
# lm_head init lets the adapters move the prediction.
LM_HEAD_STD = 0.2
TINY_VOCAB = 1024
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")  # ids 0..3
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def build_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(sorted(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.name_or_path = TINY_MODEL_ID
    return fast


def tiny_config(vocab_size: int) -> NemotronHConfig:
    return NemotronHConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        layers_block_type=["mamba", "attention", "moe", "attention"],  # M*E*
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=2048,
        intermediate_size=128,
        ssm_state_size=16,
        mamba_num_heads=4,
        mamba_head_dim=32,
        n_groups=1,
        chunk_size=64,
        n_routed_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=64,
        moe_shared_expert_intermediate_size=64,
        n_shared_experts=1,
        use_mamba_kernels=False,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )


def build_tiny(texts: list[str]) -> tuple[NemotronHForCausalLM, PreTrainedTokenizerFast]:
    """(model, tokenizer); identical for identical texts (fixed seed, sorted tokenizer input)."""
    tokenizer = build_tokenizer(texts)
    state = torch.random.get_rng_state()
    torch.manual_seed(TINY_SEED)
    try:
        model = NemotronHForCausalLM(tiny_config(len(tokenizer)))
        with torch.no_grad():
            model.lm_head.weight.normal_(0.0, LM_HEAD_STD)
    finally:
        torch.random.set_rng_state(state)
    model.config.name_or_path = TINY_MODEL_ID  # PEFT records this as base_model_name_or_path
    model.eval()
    return model, tokenizer
