// Checks that turn low-level failures into errors naming the file at fault: token ids beyond the
// model's embedding rows (tfjs would say "GatherV2: index 104 not in [0, 99]"), and file-system
// errors (read-only, full disk, is-a-directory) that Node reports without the path.
import * as path from 'node:path';
import type { TokenizedPair } from '../data/tokenize';

export class InputError extends Error {}

/**
 * Refuses token ids the model has no embedding for: the tokenizer (tokenizer.json) and the model
 * (config.json vocab_size) disagree. Names both files and the first data line that hits it.
 */
export function checkTokenIds(pairs: TokenizedPair[], vocabSize: number, dataFile: string, modelDir: string, tokenizerVocab: number): TokenizedPair[] {
  for (const p of pairs) {
    const max = Math.max(...p.promptIds, ...p.chosenIds, ...p.rejectedIds);
    if (max >= vocabSize) {
      throw new InputError(
        `${dataFile}:${p.line}: token id ${max} is beyond the model's vocabulary: ${path.join(modelDir, 'config.json')} has vocab_size ${vocabSize} but ` +
          `${path.join(modelDir, 'tokenizer.json')} has ${tokenizerVocab} tokens. Use the tokenizer that belongs to the model, or a model with vocab_size >= ${tokenizerVocab}.`,
      );
    }
  }
  return pairs;
}

/** Node's fd-based errors (ENOSPC on write, EROFS, EISDIR) can lack the path: add it. */
export function pathError(err: unknown, where: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || e.code === undefined || e.path !== undefined || e.message.includes(where)) return err as Error;
  const hint =
    e.code === 'ENOSPC'
      ? ' (the disk is full: free space, then resume the run)'
      : e.code === 'EROFS' || e.code === 'EACCES'
        ? ' (not writable: choose another folder)'
        : '';
  const out = new Error(`${where}: ${e.message}${hint}`) as NodeJS.ErrnoException;
  out.code = e.code;
  out.path = where;
  return out;
}

export function withPath<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw pathError(err, where);
  }
}
