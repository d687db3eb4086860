// Data preparation for a run: read the preference file(s), tokenize with truncation, and split off
// the eval pairs (eval_data, or a seeded eval_fraction). Problems are reported, never silent.
import { DpoConfig, heldOutIndices, isReferenceFreeLoss } from '../../protocol';
import { TextTokenizer } from '../tokenizer/tokenizer';
import { badLineCount, readPreferenceFile } from '../data/preferences';
import { TokenizedPair, tokenizePairs } from '../data/tokenize';
import { Report, TrainingError } from './report';
import { readUnpairedFile } from '../data/unpaired';
import { tokenizeUnpaired, withKlCompletions } from './kto-data';

export interface Split {
  train: TokenizedPair[];
  eval: TokenizedPair[];
}

/** The max_length in force: the config's, capped by the model's positions. */
export function effectiveMaxLength(c: DpoConfig, maxPositions: number): number {
  return Math.min(c.max_length, maxPositions);
}

/**
 * `checkIds` vets each file's tokenized pairs against the model (token ids within its vocabulary)
 * and names the file and line of the first that is not.
 */
export function prepareData(
  c: DpoConfig,
  tokenizer: TextTokenizer,
  maxPositions: number,
  report: Report,
  checkIds: (pairs: TokenizedPair[], file: string) => TokenizedPair[] = (p) => p,
): Split {
  const maxLength = effectiveMaxLength(c, maxPositions);
  if (maxLength < c.max_length) report.log(`max_length ${c.max_length} exceeds the model's ${maxLength} positions; using ${maxLength}`);
  const load = (file: string): TokenizedPair[] => {
    if (c.mode === 'kto') return loadKto(c, file, tokenizer, maxLength, report, checkIds);
    const r = readPreferenceFile(file, { skipBadLines: c.skip_bad_lines, completions: c.mode === 'sft' });
    if (r.problems.length > 0)
      report.warn({ code: 'data', step: 0, message: `${file}: skipped ${badLineCount(r.problems)} unusable line(s) (skip_bad_lines)` });
    if (r.excluded.length > 0) report.log(`data: ${file}: left out ${r.excluded.length} pair(s) labeled "tie" or "skip"`);
    // SimPO and ORPO tokenize as TRL's CPOTrainer/ORPOTrainer do (BOS and EOS ids added), so both engines see the same ids.
    const rule = c.mode === 'dpo' && isReferenceFreeLoss(c.loss_type) ? 'cpo' : 'dpo';
    const t = tokenizePairs(tokenizer, r.pairs, { maxLength, maxPromptLength: c.max_prompt_length ?? undefined, rule });
    if (t.dropped.length) {
      const lines =
        t.dropped
          .slice(0, 10)
          .map((d) => d.line)
          .join(', ') + (t.dropped.length > 10 ? ', …' : '');
      report.warn({
        code: 'data',
        step: 0,
        message: `${file}: dropped ${t.dropped.length} pair(s) whose prompt alone fills max_length ${maxLength} (lines ${lines})`,
      });
    }
    if (t.truncatedCount) report.log(`${file}: truncated ${t.truncatedCount} pair(s) to max_length ${maxLength}`);
    return checkIds(t.pairs, file);
  };
  report.progress('tokenizing', 0, 1);
  let train = load(c.data);
  let evalPairs: TokenizedPair[] = [];
  if (c.eval_data) evalPairs = load(c.eval_data);
  else if (c.eval_fraction > 0) {
    const evalSet = new Set(heldOutIndices(train.length, c.eval_fraction, c.seed));
    evalPairs = train.filter((_, i) => evalSet.has(i));
    train = train.filter((_, i) => !evalSet.has(i));
  }
  if (c.mode === 'kto') {
    // After the split, as TRL prepares its train and eval datasets apart.
    const t = withKlCompletions(train, c.batch_size, maxLength);
    const e = withKlCompletions(evalPairs, c.batch_size, maxLength);
    [train, evalPairs] = [t.examples, e.examples];
    if (t.truncatedCount + e.truncatedCount) report.log(`data: truncated ${t.truncatedCount + e.truncatedCount} completion(s) to max_length ${maxLength}`);
  }
  if (train.length === 0) throw new TrainingError(`${c.data}: no training pairs left after the eval split and truncation`);
  report.progress('tokenizing', 1, 1);
  report.log(`data: ${train.length} training pair(s), ${evalPairs.length} eval pair(s)`);
  return { train, eval: evalPairs };
}

/** A KTO run's file: unpaired lines (or pairs, unpaired), tokenized, untruncated until the KL completions are taken. */
function loadKto(
  c: DpoConfig,
  file: string,
  tokenizer: TextTokenizer,
  maxLength: number,
  report: Report,
  checkIds: (pairs: TokenizedPair[], file: string) => TokenizedPair[],
): TokenizedPair[] {
  const r = readUnpairedFile(file, { skipBadLines: c.skip_bad_lines });
  if (r.problems.length > 0) report.warn({ code: 'data', step: 0, message: `${file}: skipped ${badLineCount(r.problems)} unusable line(s) (skip_bad_lines)` });
  if (r.excluded.length > 0) report.log(`data: ${file}: left out ${r.excluded.length} pair(s) labeled "tie" or "skip"`);
  if (r.unpaired) report.log(`data: ${file}: pairs, each trained as a desirable and an undesirable line (${r.lines.length} lines)`);
  const t = tokenizeUnpaired(tokenizer, r.lines, maxLength, c.max_prompt_length ?? undefined);
  if (t.dropped.length)
    report.warn({
      code: 'data',
      step: 0,
      message: `${file}: dropped ${t.dropped.length} line(s) whose prompt alone fills max_length ${maxLength} (lines ${t.dropped
        .slice(0, 10)
        .map((d) => d.line)
        .join(', ')}${t.dropped.length > 10 ? ', …' : ''})`,
    });
  return checkIds(t.examples, file);
}
