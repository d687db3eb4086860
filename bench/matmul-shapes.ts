// The matrix products of one forward+backward of the `small` (GPT-2 layout, 4 layers, d 256) and
// `llama-gqa-small` (d 256, 8 heads, 2 kv heads, MLP 688) bench configs at 4 pairs × 2 × 128
// tokens (1024 rows), by name, as [batch, m, k, n] (batch 1: a plain 2-D product). Shared by
// bench/matmul.ts and bench/pytorch/matmul.py (which reads them as JSON).
export interface ProductShape {
  name: string;
  batch: number;
  m: number;
  k: number;
  n: number;
}

const p = (name: string, batch: number, m: number, k: number, n: number): ProductShape => ({ name, batch, m, k, n });

export const PRODUCT_SHAPES: ProductShape[] = [
  p('small qkv: x W [1024,256]x[256,768]', 1, 1024, 256, 768),
  p('small attn out / llama q,o [1024,256]x[256,256]', 1, 1024, 256, 256),
  p('small MLP up [1024,256]x[256,1024]', 1, 1024, 256, 1024),
  p('small MLP down [1024,1024]x[1024,256]', 1, 1024, 1024, 256),
  p('small dW of qkv: xᵀ dy [256,1024]x[1024,768]', 1, 256, 1024, 768),
  p('head, response rows [512,256]x[256,8192]', 1, 512, 256, 8192),
  p('llama kv (GQA) [1024,256]x[256,64]', 1, 1024, 256, 64),
  p('llama MLP gate/up [1024,256]x[256,688]', 1, 1024, 256, 688),
  p('small attention scores q kᵀ [32 x 128,64]x[64,128]', 32, 128, 64, 128),
  p('small attention values p v [32 x 128,128]x[128,64]', 32, 128, 128, 64),
  p('llama attention scores [64 x 128,32]x[32,128]', 64, 128, 32, 128),
];

export const flops = (s: ProductShape) => 2 * s.batch * s.m * s.k * s.n;
