"""The PyTorch anchor of `npm run bench -- train-step`.

The same training step as trainer/train-step.ts, written the way
pytorch/examples' fast_neural_style writes it: the transformation network
(c9s1-32, d64, d128, 5 x R128, u64, u32, c9s1-3, instance norm, reflection
padding, nearest-upsample-then-conv, scaled tanh) forward and backward,
VGG-16 to relu4_3 on the output and to relu2_2 on the content (frozen),
feature reconstruction at relu2_2, Gram-matrix style reconstruction at
relu1_2/2_2/3_3/4_3, total variation, Adam (lr 1e-3).

VGG-16 weights are random: a step's time does not depend on their values,
and none can be downloaded where this runs. torch.optim.Adam adds eps to
sqrt(v_hat) where ours (as tfjs and Keras) adds it to sqrt(v) with the bias
corrections in the step size: the same work, slightly different numbers.

Prints one JSON object per measurement on stdout:
  {"engine": "pytorch-cpu" | "pytorch-cuda", "size", "batch", "msPerStep",
   "threads", "precision", "torch"}
Usage: python3 train_step.py --device cpu|cuda --size 128 --batch 1
       [--threads N] [--strict-fp32] [--steps N]
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        return self.conv(self.pad(x))


class UpsampleConv(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv = ConvLayer(cin, cout, k, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.n1 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)
        self.c2, self.n2 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        return x + self.n2(self.c2(F.relu(self.n1(self.c1(x)))))


class TransformerNet(nn.Module):
    def __init__(self):
        super().__init__()

        def cnr(conv, c):
            return [conv, nn.InstanceNorm2d(c, affine=True), nn.ReLU()]

        self.body = nn.Sequential(
            *cnr(ConvLayer(3, 32, 9, 1), 32),
            *cnr(ConvLayer(32, 64, 3, 2), 64),
            *cnr(ConvLayer(64, 128, 3, 2), 128),
            *[Residual(128) for _ in range(5)],
            *cnr(UpsampleConv(128, 64, 3), 64),
            *cnr(UpsampleConv(64, 32, 3), 32),
            ConvLayer(32, 3, 9, 1),
        )

    def forward(self, x):
        return (torch.tanh(self.body(x / 255.0)) + 1) * 127.5


# VGG-16 convolutions up to conv4_3: (name, in, out); "M" = 2x2 max pool.
VGG16 = [
    ("relu1_1", 3, 64), ("relu1_2", 64, 64), "M",
    ("relu2_1", 64, 128), ("relu2_2", 128, 128), "M",
    ("relu3_1", 128, 256), ("relu3_2", 256, 256), ("relu3_3", 256, 256), "M",
    ("relu4_1", 256, 512), ("relu4_2", 512, 512), ("relu4_3", 512, 512),
]
STYLE_LAYERS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
CONTENT_LAYER = "relu2_2"


class Vgg16(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList()
        self.names = []
        for item in VGG16:
            if item == "M":
                self.layers.append(nn.MaxPool2d(2))
                self.names.append(None)
            else:
                name, cin, cout = item
                self.layers.append(nn.Conv2d(cin, cout, 3, padding=1))
                self.names.append(name)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x, last):
        x = (x - self.mean) / self.std
        out = {}
        for layer, name in zip(self.layers, self.names):
            x = layer(x)
            if name is not None:
                x = F.relu(x)
                out[name] = x
                if name == last:
                    break
        return out


def gram(phi):
    n, c, h, w = phi.shape
    f = phi.reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def measure(device, size, batch, steps):
    torch.manual_seed(1)
    net = TransformerNet().to(device)
    vgg = Vgg16().to(device).eval()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    style = torch.rand(1, 3, size, size, device=device) * 255
    with torch.no_grad():
        style_grams = {k: gram(v) for k, v in vgg(style, "relu4_3").items() if k in STYLE_LAYERS}
    content = torch.rand(batch, 3, size, size, device=device) * 255

    def step():
        opt.zero_grad(set_to_none=True)
        y = net(content)
        with torch.no_grad():
            phi_c = vgg(content, CONTENT_LAYER)[CONTENT_LAYER]
        phi_y = vgg(y, "relu4_3")
        content_loss = F.mse_loss(phi_y[CONTENT_LAYER], phi_c)
        style_loss = sum(
            ((gram(phi_y[k]) - style_grams[k].expand(batch, -1, -1)) ** 2).sum(dim=(1, 2)).mean()
            for k in STYLE_LAYERS
        )
        tv = ((y[:, :, 1:, :] - y[:, :, :-1, :]) ** 2).sum() + ((y[:, :, :, 1:] - y[:, :, :, :-1]) ** 2).sum()
        loss = content_loss + 5 * style_loss + 1e-6 * tv / batch
        loss.backward()
        opt.step()
        return loss

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(3 if device == "cuda" else 1):
        step()
    sync()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    if not torch.isfinite(loss):
        raise SystemExit("loss is not finite")
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", choices=["cpu", "cuda"], required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = PyTorch's default)")
    p.add_argument("--strict-fp32", action="store_true", help="CUDA: turn TF32 off for convs and matmuls")
    p.add_argument("--steps", type=int, default=0, help="timed steps (default: 20 on cuda, 3 on cpu)")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    precision = "fp32"
    if a.device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = not a.strict_fp32
        torch.backends.cuda.matmul.allow_tf32 = not a.strict_fp32
        precision = "fp32" if a.strict_fp32 else "tf32"
    steps = a.steps or (20 if a.device == "cuda" else 3)
    ms = measure(a.device, a.size, a.batch, steps)
    print(
        json.dumps(
            {
                "engine": f"pytorch-{a.device}",
                "size": a.size,
                "batch": a.batch,
                "msPerStep": round(ms, 2),
                "threads": torch.get_num_threads() if a.device == "cpu" else None,
                "precision": precision,
                "torch": torch.__version__,
                "device": torch.cuda.get_device_name() if a.device == "cuda" else None,
            }
        )
    )


if __name__ == "__main__":
    main()
