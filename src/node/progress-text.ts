// Words of an engine's progress events as the status bar and the metrics panel show them. Pure string
// code with no vscode import, so unit tests load it.
import { RunPhase } from '../protocol';

/** A progress message's absolute paths cut to their last part: "loading reference model tiny", not a whole path. */
export function shortPaths(message: string): string {
  // Only a path that starts a word: "3/10" is a count.
  return message.replace(/(^|\s)(?:[A-Za-z]:)?[\\/](?:[^\s\\/]+[\\/])*([^\s\\/]+)/g, '$1$2');
}

/** An engine's phase as the status bar and the metrics panel say it. */
export const PHASE_WORDS: Record<RunPhase, string> = {
  loading: 'loading',
  tokenizing: 'tokenizing',
  reference: 'precomputing reference log-probs',
  training: 'training',
  evaluating: 'evaluating',
  saving: 'saving',
};

/** "precomputing reference log-probs" or "loading model tiny": the phase and its message, paths cut short. */
export function phaseWords(p: { phase: RunPhase; message?: string }): string {
  return `${PHASE_WORDS[p.phase]}${p.message ? ` ${shortPaths(p.message)}` : ''}`;
}
