#!/usr/bin/env python3
"""The PyTorch eager baseline for bench/compare-pytorch.ts: the same DPO step (policy forward and
backward on chosen and rejected in one batch, live reference log-probs, sigmoid loss, clipping,
AdamW) on the same weights (read from our safetensors) and the same tokens (the tiny models'
tokenizer is one token per UTF-8 byte, EOS 256, so Python can tokenize the same pairs exactly).
Written by hand (no transformers: not installable here); GPT-2 and Llama layouts.
Prints one JSON line: first-step loss, step times (wall, and CPU: process_time, every thread), peak RSS."""
import json, math, resource, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', f'{name}: {info["dtype"]}'
        b, e = info['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data, dtype='<f4', count=(e - b) // 4, offset=8 + n + b).reshape(info['shape']).copy())
    return out


class Model(torch.nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.gpt2 = cfg['architectures'][0] == 'GPT2LMHeadModel'
        self.p = torch.nn.ParameterDict({k.replace('.', '__'): torch.nn.Parameter(v) for k, v in weights.items()})
        if self.gpt2:
            self.L, self.D, self.H = cfg['n_layer'], cfg['n_embd'], cfg['n_head']
            self.KV, self.eps = self.H, cfg.get('layer_norm_epsilon', 1e-5)
        else:
            self.L, self.D, self.H = cfg['num_hidden_layers'], cfg['hidden_size'], cfg['num_attention_heads']
            self.KV, self.eps = cfg.get('num_key_value_heads', self.H), cfg.get('rms_norm_eps', 1e-6)
            hd = self.D // self.H
            inv = 1.0 / (cfg.get('rope_theta', 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
            ang = torch.arange(cfg['max_position_embeddings'], dtype=torch.float32)[:, None] * inv[None, :]
            self.cos = torch.cat([ang.cos(), ang.cos()], -1)
            self.sin = torch.cat([ang.sin(), ang.sin()], -1)

    def w(self, name):
        return self.p[name.replace('.', '__')]

    def head(self):
        tied = self.cfg.get('tie_word_embeddings', self.gpt2)
        return self.w('transformer.wte.weight' if self.gpt2 else 'model.embed_tokens.weight') if tied else self.w('lm_head.weight')

    def attend(self, q, k, v):  # q [B,H,T,hd], k/v [B,KV,T,hd]
        rep = self.H // self.KV
        if rep > 1:
            k = k.repeat_interleave(rep, 1)
            v = v.repeat_interleave(rep, 1)
        T = q.shape[2]
        mask = torch.full((T, T), float('-inf')).triu(1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + mask
        out = att.softmax(-1) @ v  # [B,H,T,hd]
        B = q.shape[0]
        return out.transpose(1, 2).reshape(B, T, -1)

    def forward(self, ids):
        B, T = ids.shape
        hd = self.D // self.H
        split = lambda x, h: x.view(B, T, h, hd).transpose(1, 2)
        if self.gpt2:
            x = self.w('transformer.wte.weight')[ids] + self.w('transformer.wpe.weight')[:T]
            for i in range(self.L):
                p = f'transformer.h.{i}.'
                a = F.layer_norm(x, (self.D,), self.w(p + 'ln_1.weight'), self.w(p + 'ln_1.bias'), self.eps)
                q, k, v = (a @ self.w(p + 'attn.c_attn.weight') + self.w(p + 'attn.c_attn.bias')).split(self.D, -1)
                x = x + self.attend(split(q, self.H), split(k, self.H), split(v, self.H)) @ self.w(p + 'attn.c_proj.weight') + self.w(p + 'attn.c_proj.bias')
                m = F.layer_norm(x, (self.D,), self.w(p + 'ln_2.weight'), self.w(p + 'ln_2.bias'), self.eps)
                h = F.gelu(m @ self.w(p + 'mlp.c_fc.weight') + self.w(p + 'mlp.c_fc.bias'), approximate='tanh')
                x = x + h @ self.w(p + 'mlp.c_proj.weight') + self.w(p + 'mlp.c_proj.bias')
            x = F.layer_norm(x, (self.D,), self.w('transformer.ln_f.weight'), self.w('transformer.ln_f.bias'), self.eps)
        else:
            rms = lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w
            cos, sin = self.cos[:T], self.sin[:T]
            rope = lambda x: x * cos + torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1) * sin
            x = self.w('model.embed_tokens.weight')[ids]
            for i in range(self.L):
                p = f'model.layers.{i}.'
                a = rms(x, self.w(p + 'input_layernorm.weight'))
                lin = lambda n: a @ self.w(p + f'self_attn.{n}_proj.weight').t() + (self.w(p + f'self_attn.{n}_proj.bias') if (p + f'self_attn.{n}_proj.bias').replace('.', '__') in self.p else 0)
                q, k, v = rope(split(lin('q'), self.H)), rope(split(lin('k'), self.KV)), split(lin('v'), self.KV)
                x = x + self.attend(q, k, v) @ self.w(p + 'self_attn.o_proj.weight').t()
                m = rms(x, self.w(p + 'post_attention_layernorm.weight'))
                g = F.silu(m @ self.w(p + 'mlp.gate_proj.weight').t()) * (m @ self.w(p + 'mlp.up_proj.weight').t())
                x = x + g @ self.w(p + 'mlp.down_proj.weight').t()
            x = rms(x, self.w('model.norm.weight'))
        return x @ self.head().t()  # [B,T,V]


def batch_of(pairs):
    """Bytes of prompt and response (+EOS 256), chosen rows then rejected rows, right-padded with 256."""
    seqs = [(list(p['prompt'].encode()), list(p[k].encode()) + [256]) for k in ('chosen', 'rejected') for p in pairs]
    T = max(len(a) + len(b) for a, b in seqs)
    ids = torch.full((len(seqs), T), 256, dtype=torch.long)
    mask = torch.zeros(len(seqs), T)
    for r, (a, b) in enumerate(seqs):
        ids[r, :len(a) + len(b)] = torch.tensor(a + b)
        mask[r, len(a):len(a) + len(b)] = 1
    return ids, mask


def logps(model, ids, mask):
    logits = model(ids)[:, :-1]
    lp = logits.log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0]
    return (lp * mask[:, 1:]).sum(-1)


def main():
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args.get('threads', 2))
    torch.manual_seed(0)
    cfg = json.load(open(f"{args['model']}/config.json"))
    weights = read_safetensors(f"{args['model']}/model.safetensors")
    policy = Model(cfg, {k: v.clone() for k, v in weights.items()})
    reference = Model(cfg, weights).requires_grad_(False)
    pairs = [json.loads(l) for l in open(args['data']) if l.strip()]
    bs, beta = args['batch_size'], args['beta']
    opt = torch.optim.AdamW(policy.parameters(), lr=args['lr'], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    times, cpu_times, losses, first_logps = [], [], [], None
    for step in range(args['steps'] + 1):
        chunk = pairs[step * bs:(step + 1) * bs]
        ids, mask = batch_of(chunk)
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.no_grad():
            ref = logps(reference, ids, mask)
        pol = logps(policy, ids, mask)
        n = len(chunk)
        h = (pol[:n] - pol[n:]) - (ref[:n] - ref[n:])
        loss = -F.logsigmoid(beta * h).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        losses.append(loss.item())
        if step == 0:
            first_logps = [pol[:n].mean().item(), pol[n:].mean().item()]
        else:
            times.append(dt)
            cpu_times.append(dc)
    print(json.dumps({'losses': losses, 'first_logps': first_logps, 'step_seconds': times, 'cpu_step_seconds': cpu_times, 'tokens_per_step': int(mask.numel()), 'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'threads': torch.get_num_threads(), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
