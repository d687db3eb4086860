// Activation recomputation (gradient checkpointing, Chen et al. arXiv:1604.06174) for one block: the
// forward pass keeps only the block's input, and the backward pass runs the block again under its
// own gradient tape. A block's activations then exist for one block at a time, not for all of them:
// what lets GPT-2-small train at 512 tokens inside wasm's 4 GiB heap, for ~1/3 more compute.
import * as tf from '@tensorflow/tfjs';

/** tfjs's engine state: its active tape is one field, which a nested gradient would replace. */
interface EngineState {
  state: { activeTape: unknown };
}

/**
 * f(x) for a block, with the gradient flowing to x and to `vars` (the trainable tensors f reads).
 * `context` holds the tensors f needs besides x (masks, rotary tables): they are made inside the
 * traced forward pass, which tfjs disposes before the backward pass, so they are saved with x.
 */
export function recomputed(f: (x: tf.Tensor3D, context: tf.Tensor[]) => tf.Tensor3D, x: tf.Tensor3D, context: tf.Tensor[], vars: tf.Tensor[]): tf.Tensor3D {
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as tf.Tensor3D;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save([xIn, ...context]);
    // Inside a custom gradient's forward pass tfjs records nothing: the block's intermediates go at once.
    const value = f(xIn, context);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xSaved, ...contextSaved] = saved as [tf.Tensor3D, ...tf.Tensor[]];
      // A gradient inside a backward pass: tfjs's gradients() starts a new tape in the engine's one
      // slot and clears it when done, and the outer backward pass still needs its own (it disposes the
      // saved tensors from there), so the slot is restored.
      const engine = tf.engine() as unknown as EngineState;
      const outer = engine.state.activeTape;
      try {
        return tf.grads((xx: tf.Tensor) => f(xx as tf.Tensor3D, contextSaved))([xSaved, ...vars], dy);
      } finally {
        engine.state.activeTape = outer;
      }
    };
    return { value, gradFunc };
  });
  return fn(x, ...vars) as tf.Tensor3D;
}
