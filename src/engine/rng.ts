// The seeded PRNG lives in the protocol (the eval split is a rule both engines and `dpo eval` share);
// the engine's modules import it from here.
export { Rng } from '../protocol/rng';
