#!/usr/bin/python3
"""Makes the reference models of the graph compiler's tests (tests/models/).

Each model is a small PyTorch module with seeded random weights, exported by
torch.onnx.export (torch 1.13, Debian's python3-torch) in eval mode, with a seeded input and
PyTorch's output saved as .npy beside it:

    tests/models/NAME/model.onnx
    tests/models/NAME/inputs/<input name>.npy
    tests/models/NAME/outputs/<output name>.npy

Tests and CI read these files and never need torch. Run with Debian's interpreter (the
`python3` first on PATH may lack torch):

    /usr/bin/python3 scripts/onnx_models.py            # all models
    /usr/bin/python3 scripts/onnx_models.py mlp cnn    # some
    /usr/bin/python3 scripts/onnx_models.py gpt2_small # the benchmark model (below)

The models are what ../shared/COMPILER.md asks for: an MLP, and one over a flattened 12 x 12 image
with one sample and sizes (144, 100, 10) that grids must pad; a GPT-2-style block (LayerNorm,
causal masked attention, GELU) at opset 13 (LayerNorm as the ReduceMean/Sub/Pow/Sqrt/Div chain,
exact erf GELU) and at opset 17 (LayerNormalization, tanh GELU); a Llama-style block (RMSNorm,
rotate-half RoPE, grouped-query attention, SwiGLU), also as Hugging Face writes it (repeat_interleave,
a softmax in .float(), 2-D tables) over a batch of two sequences; the GPT-2 block over a batch of
two; a small CNN (Conv, BatchNorm, ReLU,
max and average pooling, global average pooling, Linear), and one over a batch of three
images with x.mean((2, 3)); a whole GPT-2-style model over token ids (embeddings, two blocks,
LM head); torch's nn.TransformerEncoderLayer (attention without a mask, as
nn.MultiheadAttention exports it); and the second halves of the GPT-2
and Llama blocks (norm, MLP, residual), which the wafer engine runs before attention lowers.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models")


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 16)

    def forward(self, x):
        return self.fc3(F.gelu(self.fc2(F.relu(self.fc1(x)))))


class FlatMlp(nn.Module):
    """A classifier over a flattened image, one sample: sizes the grid must pad."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(144, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class Gpt2Block(nn.Module):
    def __init__(self, hidden=64, heads=4, seq=16, gelu="none"):
        super().__init__()
        self.heads, self.gelu = heads, gelu
        self.ln1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden)
        self.fc = nn.Linear(hidden, 4 * hidden)
        self.out = nn.Linear(4 * hidden, hidden)
        self.register_buffer("mask", torch.tril(torch.ones(seq, seq)).view(1, 1, seq, seq))

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.proj(y.transpose(1, 2).contiguous().view(b, t, c))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate=self.gelu))


class RmsNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(1 + 0.1 * torch.randn(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaBlock(nn.Module):
    """hf=True writes it as Hugging Face's Llama does: 2-D rotary tables and mask, the key-value
    heads repeated by repeat_interleave, the softmax taken in .float() and cast back."""

    def __init__(self, hidden=64, heads=4, kv_heads=2, ffn=128, seq=16, hf=False):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim, self.hf = heads, kv_heads, hidden // heads, hf
        self.norm1, self.norm2 = RmsNorm(hidden), RmsNorm(hidden)
        self.q = nn.Linear(hidden, hidden, bias=False)
        self.k = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.v = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.o = nn.Linear(hidden, hidden, bias=False)
        self.gate = nn.Linear(hidden, ffn, bias=False)
        self.up = nn.Linear(hidden, ffn, bias=False)
        self.down = nn.Linear(ffn, hidden, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        angles = torch.outer(torch.arange(seq).float(), inv)
        emb = torch.cat((angles, angles), dim=-1)
        lead = (lambda t: t) if hf else (lambda t: t[None, None])
        self.register_buffer("cos", lead(emb.cos()))
        self.register_buffer("sin", lead(emb.sin()))
        self.register_buffer("mask", lead(torch.full((seq, seq), float("-inf")).triu(1)))

    def attention(self, x):
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        rep = self.heads // self.kv_heads
        if self.hf:
            k, v = torch.repeat_interleave(k, rep, dim=1), torch.repeat_interleave(v, rep, dim=1)
        else:
            k = k[:, :, None].expand(b, self.kv_heads, rep, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
            v = v[:, :, None].expand(b, self.kv_heads, rep, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
        att = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim) + self.mask
        p = F.softmax(att.float(), dim=-1).type_as(q) if self.hf else F.softmax(att, dim=-1)
        y = p @ v
        return self.o(y.transpose(1, 2).reshape(b, t, -1))

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Gpt2Mlp(nn.Module):
    """The GPT-2 block's second half, x + out(gelu(fc(ln2(x)))): what the wafer engine runs
    before attention lowers."""

    def __init__(self, hidden=64, gelu="tanh"):
        super().__init__()
        self.gelu = gelu
        self.ln2 = nn.LayerNorm(hidden)
        self.fc = nn.Linear(hidden, 4 * hidden)
        self.out = nn.Linear(4 * hidden, hidden)

    def forward(self, x):
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate=self.gelu))


class LlamaMlp(nn.Module):
    """The Llama block's second half, x + down(silu(gate(h)) * up(h)) with h = RMSNorm(x)."""

    def __init__(self, hidden=64, ffn=128):
        super().__init__()
        self.norm2 = RmsNorm(hidden)
        self.gate = nn.Linear(hidden, ffn, bias=False)
        self.up = nn.Linear(hidden, ffn, bias=False)
        self.down = nn.Linear(ffn, hidden, bias=False)

    def forward(self, x):
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)  # after a pool: not folded into a conv
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.avg_pool2d(F.relu(self.bn2(F.max_pool2d(self.conv2(x), 1))), 2)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


class BatchCnn(nn.Module):
    """A CNN over a batch of three images, its global pooling written as x.mean((2, 3)): the
    bands of PE rows need a height 3 divides, and the 4 and 8 channels are padded to it."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2, 2), nn.BatchNorm2d(4),
                                      nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


class TinyGpt(nn.Module):
    """A whole GPT-2-style model: token and position embeddings, two blocks, the final
    LayerNorm and the LM head, over 16 token ids (an int64 input) of a vocabulary of 100."""

    def __init__(self, vocab=100, hidden=64, seq=16, blocks=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(seq, hidden)
        self.blocks = nn.Sequential(*[Gpt2Block(hidden=hidden, heads=4, seq=seq, gelu="tanh") for _ in range(blocks)])
        self.ln = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, vocab, bias=False)
        self.register_buffer("positions", torch.arange(seq))
        self.vocab = vocab

    def forward(self, ids):
        return self.head(self.ln(self.blocks(self.wte(ids) + self.wpe(self.positions))))


class EncoderLayer(nn.Module):
    """torch's own nn.TransformerEncoderLayer (post-norm, ReLU): attention without a mask, in
    nn.MultiheadAttention's export (Slices of the QKV projection, Q divided by sqrt(d))."""

    def __init__(self, hidden=48, heads=3, ffn=96):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.0, batch_first=True)

    def forward(self, x):
        return self.layer(x)


def randomize_batchnorm(module):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


MODELS = {
    # name: (constructor, input shape, opset)
    "mlp": (Mlp, (4, 32), 13),
    "mlp_flat_b1": (FlatMlp, (1, 1, 12, 12), 17),
    "gpt2_block_op13": (lambda: Gpt2Block(gelu="none"), (1, 16, 64), 13),
    "gpt2_block_op17": (lambda: Gpt2Block(gelu="tanh"), (1, 16, 64), 17),
    "llama_block": (LlamaBlock, (1, 16, 64), 14),
    "llama_block_hf": (lambda: LlamaBlock(hidden=48, heads=6, kv_heads=3, ffn=96, seq=8, hf=True), (2, 8, 48), 17),
    "gpt2_block_b2": (lambda: Gpt2Block(gelu="tanh"), (2, 16, 64), 14),
    "cnn": (SmallCnn, (2, 3, 16, 16), 13),
    "cnn_b3": (BatchCnn, (3, 1, 10, 10), 13),
    "encoder_layer": (EncoderLayer, (1, 8, 48), 14),
    "gpt2_tiny": (TinyGpt, (1, 16), 17),
    "gpt2_mlp_op17": (lambda: Gpt2Mlp(gelu="tanh"), (1, 16, 64), 17),
    "llama_mlp": (LlamaMlp, (1, 16, 64), 14),
}


# Made only when named, and not committed (tests/models/.gitignore): the compiler issue's
# stretch target, GPT-2-small's shape (12 blocks, hidden 768, 12 heads, 128 tokens), 340 MB
# of ONNX (docs/benchmarks.md).
BENCHMARKS = {
    "gpt2_small": (lambda: nn.Sequential(*[Gpt2Block(hidden=768, heads=12, seq=128, gelu="tanh") for _ in range(12)]),
                   (1, 128, 768), 17),
}


def make(name):
    build, shape, opset = {**MODELS, **BENCHMARKS}[name]
    torch.manual_seed(sum(map(ord, name)))
    model = build()
    randomize_batchnorm(model)
    model.eval()
    x = torch.randint(0, model.vocab, shape) if hasattr(model, "vocab") else torch.randn(*shape)
    with torch.no_grad():
        y = model(x)
    folder = os.path.join(ROOT, name)
    os.makedirs(os.path.join(folder, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(folder, "outputs"), exist_ok=True)
    torch.onnx.export(model, (x,), os.path.join(folder, "model.onnx"), opset_version=opset,
                      input_names=["x"], output_names=["y"], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)
    np.save(os.path.join(folder, "inputs", "x.npy"), x.numpy())
    np.save(os.path.join(folder, "outputs", "y.npy"), y.numpy())
    print(f"{name}: opset {opset}, input {list(shape)}, output {list(y.shape)}")


class Unsupported(nn.Module):
    def forward(self, x):
        return torch.atan(x) + torch.round(x) + torch.atan(2 * x)


class NoKernel(nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4)

    def forward(self, x):
        return F.pad(self.depthwise(x), (1, 1, 1, 1))


# Models the importer must refuse (ops chosen that no exported model of ours needs), each with the error the tests expect it to name:
# tests/models/errors/NAME.onnx.
def make_errors():
    torch.manual_seed(0)
    folder = os.path.join(ROOT, "errors")
    os.makedirs(folder, exist_ok=True)
    x = torch.randn(2, 8)
    export = dict(input_names=["x"], output_names=["y"])
    # Atan twice and Round once: both ops, with all three node names, in one message.
    torch.onnx.export(Unsupported(), (x,), os.path.join(folder, "unsupported_ops.onnx"), opset_version=13, **export)
    # Axis 0 of x is the symbolic 'batch'.
    torch.onnx.export(Mlp(), (torch.randn(4, 32),), os.path.join(folder, "dynamic_batch.onnx"), opset_version=13,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, **export)
    # Opset 11 is older than the importer's 13.
    torch.onnx.export(Mlp(), (torch.randn(4, 32),), os.path.join(folder, "opset11.onnx"), opset_version=11, **export)
    # Ops the interpreter runs but the wafer has no kernel for: a grouped Conv, a Pad that pads.
    torch.onnx.export(NoKernel(), (torch.randn(1, 4, 8, 8),), os.path.join(folder, "no_kernel.onnx"), opset_version=13,
                      **export)
    print("errors: unsupported_ops, dynamic_batch, opset11, no_kernel")


def main(names):
    for name in names or list(MODELS) + ["errors"]:
        if name == "errors":
            make_errors()
        elif name in MODELS or name in BENCHMARKS:
            make(name)
        else:
            sys.exit(f"onnx_models.py: unknown model '{name}' (models: {', '.join([*MODELS, *BENCHMARKS])}, errors)")


if __name__ == "__main__":
    main(sys.argv[1:])
