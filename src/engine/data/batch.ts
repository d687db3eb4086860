// Padded batches of prompt+response sequences with a mask over response tokens. Right padding:
// with causal attention no real token ever attends to padding, so padding cannot change a log-prob.

export interface SequenceBatch {
  /** Token ids, row-major [rows, length]. */
  ids: Int32Array;
  /** 1 where the token at that position is a response token (scored), else 0. [rows, length] */
  responseMask: Float32Array;
  rows: number;
  length: number;
  /** Response tokens per row. */
  responseTokens: number[];
  /** Real (non-padding) tokens in the batch. */
  realTokens: number;
}

export interface Sequence {
  promptIds: number[];
  responseIds: number[];
}

/** Pads to the longest row (or `padTo`, if longer) with `padId`. */
export function collate(sequences: Sequence[], padId: number, padTo = 0): SequenceBatch {
  const rows = sequences.length;
  const length = Math.max(padTo, ...sequences.map((s) => s.promptIds.length + s.responseIds.length));
  const ids = new Int32Array(rows * length).fill(padId);
  const responseMask = new Float32Array(rows * length);
  const responseTokens: number[] = [];
  let realTokens = 0;
  sequences.forEach((s, r) => {
    const base = r * length;
    ids.set(s.promptIds, base);
    ids.set(s.responseIds, base + s.promptIds.length);
    responseMask.fill(1, base + s.promptIds.length, base + s.promptIds.length + s.responseIds.length);
    responseTokens.push(s.responseIds.length);
    realTokens += s.promptIds.length + s.responseIds.length;
  });
  return { ids, responseMask, rows, length, responseTokens, realTokens };
}

/** Chosen rows then rejected rows, so both go through one forward pass (the paper's code). */
export function collatePairs(pairs: { promptIds: number[]; chosenIds: number[]; rejectedIds: number[] }[], padId: number): SequenceBatch {
  return collate(
    [
      ...pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.chosenIds })),
      ...pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.rejectedIds })),
    ],
    padId,
  );
}
