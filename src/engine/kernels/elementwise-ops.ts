// GELU, LayerNorm and RMSNorm as tfjs ops with custom gradients on our element-wise kernel
// (elementwise.ts): ops.ts's geluNew / layerNorm / rmsNorm call these on the wasm and cpu backends
// where fusedElementwiseApplies says so. Saved tensors go through `save`: gradients() tidies the
// forward pass, so a tensor only captured by a closure would be gone by the backward pass.
import * as tf from '@tensorflow/tfjs';
import { NormSpec, geluBackward, geluForward, normBackward, normForward } from './elementwise';

type Args = (tf.Tensor | tf.GradSaveFunc)[];

/** gelu_new / gelu_pytorch_tanh: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715·x³))), one kernel pass each way. */
export const fusedGelu = tf.customGrad((...args: Args) => {
  const x = args[0] as tf.Tensor;
  (args[1] as tf.GradSaveFunc)([x]);
  return { value: geluForward(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => geluBackward(saved[0], dy) };
}) as (x: tf.Tensor) => tf.Tensor;

/** LayerNorm over the last axis (torch.nn.LayerNorm: biased variance, eps inside the root). */
export function fusedLayerNorm(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
  const spec: NormSpec = { rms: false, unitOffset: false, eps };
  const fn = tf.customGrad((...args: Args) => {
    const [xi, wi, bi] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const { y, mean, rstd } = normForward(xi, wi as tf.Tensor1D, bi as tf.Tensor1D, spec);
    save([xi, wi, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sm, sr] = saved;
        const g = normBackward(sx, dy, sw as tf.Tensor1D, { mean: sm as tf.Tensor1D, rstd: sr as tf.Tensor1D }, spec);
        return [g.dx, g.dw, g.db!];
      },
    };
  });
  return fn(x, w, b);
}

/** RMSNorm over the last axis; `unitOffset` scales by (1 + w) as Gemma stores its norm weights. */
export function fusedRmsNorm(x: tf.Tensor, w: tf.Tensor1D, eps: number, unitOffset: boolean): tf.Tensor {
  const spec: NormSpec = { rms: true, unitOffset, eps };
  const fn = tf.customGrad((...args: Args) => {
    const [xi, wi] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const { y, mean, rstd } = normForward(xi, wi as tf.Tensor1D, undefined, spec);
    mean.dispose(); // all zeros for RMSNorm: the backward does not read it
    save([xi, wi, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sr] = saved;
        const g = normBackward(sx, dy, sw as tf.Tensor1D, { rstd: sr as tf.Tensor1D }, spec);
        return [g.dx, g.dw];
      },
    };
  });
  return fn(x, w);
}
