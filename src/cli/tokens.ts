// `dpo tokens`: one pair of a data file as training sees it (src/engine/data/token-preview.ts),
// printed for a terminal, or as JSON for the labeling editor's preview.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, DataProblem, formatProblem, parsePreferenceLine } from '../engine/data/preferences';
import { parseModelConfig } from '../engine/model/config';
import { loadTokenizer } from '../engine/tokenizer/tokenizer';
import { previewPair } from '../engine/data/token-preview';
import { PreviewSide, TokenPreview, unpairedWord } from '../protocol/token-preview';
import { isUnpairedValue } from '../protocol/unpaired-line';

export interface TokensJob {
  modelDir: string;
  dataFile: string;
  line: number;
  maxLength?: number;
  maxPromptLength?: number;
}

export function tokenPreview(job: TokensJob): TokenPreview {
  const lines = fs.readFileSync(job.dataFile, 'utf8').split('\n');
  if (job.line > lines.length || lines[job.line - 1].trim() === '')
    throw new Error(`${job.dataFile}:${job.line}: no pair on this line (the file has ${lines.length} line(s))`);
  let value: unknown;
  try {
    value = JSON.parse(lines[job.line - 1]);
  } catch (err) {
    throw new Error(`${job.dataFile}:${job.line}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const problems: DataProblem[] = [];
  // An unpaired line (KTO): its completion as a pair's two sides, so it is tokenized as training would.
  const unpaired = isUnpairedValue(value) ? (value as { prompt: unknown; completion: unknown; label?: unknown }) : undefined;
  // The rejected side is a stand-in that is never shown (a pair's two sides may not be identical).
  const mark = unpaired?.completion === '.' ? ',' : '.';
  const standIn = Array.isArray(unpaired?.completion) ? [{ role: 'assistant', content: mark }] : mark;
  const asPair = unpaired ? { prompt: unpaired.prompt, chosen: unpaired.completion, rejected: standIn } : value;
  const pair = parsePreferenceLine(asPair, job.dataFile, job.line, problems);
  if (!pair) throw new DataError(problems, problems.map(formatProblem).join('\n'));
  const modelConfig = parseModelConfig(JSON.parse(fs.readFileSync(path.join(job.modelDir, 'config.json'), 'utf8')) as Record<string, unknown>);
  const maxLength = Math.min(job.maxLength ?? modelConfig.maxPositions, modelConfig.maxPositions);
  const preview = previewPair(loadTokenizer(job.modelDir), pair, { maxLength, maxPromptLength: job.maxPromptLength });
  if (!unpaired) return preview;
  // One completion: a warning about chosen and rejected being the same tokens says nothing about it.
  const label = typeof unpaired.label === 'boolean' ? unpaired.label : null;
  return { ...preview, unpairedLabel: label, warnings: preview.warnings.filter((w) => w.code !== 'truncated-equal') };
}

/** Tokens in brackets; prompt ones (masked) in [ ], response ones (trained) in { }, cut ones struck with ~. */
function sideText(name: string, s: PreviewSide): string {
  const show = (t: PreviewSide['tokens'][number]) => {
    const text = JSON.stringify(t.text).slice(1, -1) + (t.eos ? '⟨EOS⟩' : '');
    const body = t.role === 'prompt' ? `[${text}]` : `{${text}}`;
    return t.cut ? `~${body}~` : body;
  };
  return [
    `${name}: prompt ${s.keptPromptTokens}/${s.promptTokens} tokens (masked), response ${s.keptResponseTokens}/${s.responseTokens} tokens (trained), kept/total`,
    '  ' + s.tokens.map(show).join(''),
  ].join('\n');
}

export function formatTokenPreview(p: TokenPreview): string {
  return [
    `line ${p.line} (${p.conversational ? 'conversational: chat template applied' : 'text'}), max_length ${p.maxLength}${p.maxPromptLength !== null ? `, max_prompt_length ${p.maxPromptLength}` : ''}`,
    'legend: [prompt token, masked]  {response token, trained}  ~cut by truncation~  ⟨EOS⟩',
    ...(p.unpairedLabel !== undefined
      ? [sideText(`completion (${unpairedWord(p.unpairedLabel)})`, p.chosen)]
      : [sideText('chosen', p.chosen), sideText('rejected', p.rejected)]),
    ...p.warnings.map((w) => `warning (${w.code}): ${w.message}`),
  ].join('\n');
}
