// Which WebGPU adapters `auto` may pick: hardware ones only. Software rasterisers present
// themselves as ordinary adapters (Dawn flags only its own fallback), so they are known by name.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isSoftwareAdapter } from '../../../src/engine/webgpu';

describe('software adapter detection', () => {
  it('knows Mesa llvmpipe/lavapipe, SwiftShader, WARP and Dawn fallbacks as software', () => {
    // What Dawn reports here for Mesa 22.3.6 through OpenGL ES.
    assert.equal(
      isSoftwareAdapter({ vendor: '', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' }),
      true,
    );
    assert.equal(isSoftwareAdapter({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'lavapipe' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader Device (Subzero)' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ampere', isFallbackAdapter: true }), true);
  });

  it('takes GPUs as hardware', () => {
    assert.equal(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M2' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'lovelace', device: '', description: 'NVIDIA GeForce RTX 4070' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) Iris(R) Xe Graphics' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7600 (RADV NAVI33)' }), false);
  });
});
