#!/usr/bin/env bash
# Makes a folder that runs `bench/attention-webgpu.ts` (the WGSL fused attention against tfjs-webgpu)
# on a GPU machine that has neither Node nor the npm packages nor a network: the bench bundled by
# esbuild with tfjs inside (the `webgpu` package left external), the `webgpu` package with only its
# linux-x64 `dawn.node`, and this machine's `node` compressed with xz (~49 MB in all). There:
#   xz -dc DIR/node.xz > /tmp/node && chmod +x /tmp/node && (cd DIR && /tmp/node bench.js --lengths 512,2048)
# A machine without a Vulkan loader needs one too (Debian's libvulkan1, unpacked with dpkg -x), and
# VK_DRIVER_FILES pointing at the GPU driver's ICD file where the loader does not find it.
# Usage: bash bench/gpu/carry-webgpu.sh OUT_DIR   (after npm ci)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$1"
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
"$root/node_modules/.bin/esbuild" "$root/bench/attention-webgpu.ts" --bundle --platform=node --log-level=warning \
  --external:webgpu --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-node --outfile="$out/bench.js"
cp "$root/node_modules/webgpu/package.json" "$root/node_modules/webgpu/index.js" "$out/node_modules/webgpu/"
cp "$root/node_modules/webgpu/dist/linux-x64/dawn.node" "$out/node_modules/webgpu/dist/linux-x64/"
xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"
du -sh "$out"
