// The other preference formats people have, read as TRL's {prompt, chosen, rejected} and written
// back: the chat-completions preference format of hosted fine-tuning services
// ({"input": {"messages"}, "preferred_output", "non_preferred_output"}), and Anthropic HH style
// (whole "\n\nHuman: … \n\nAssistant: …" transcripts in "chosen"/"rejected" that share the prompt).
// Pure: the trainer's reader and the labeling editor both go through it.
import type { ChatMessage, Text } from './preference-line';

export const PREFERENCE_FORMATS = ['trl', 'chat-completions', 'hh'] as const;
export type PreferenceFormat = (typeof PREFERENCE_FORMATS)[number];

/** The turn marker an HH transcript's prompt ends with. */
export const HH_ASSISTANT = '\n\nAssistant:';
const HH_HUMAN = '\n\nHuman:';

export function detectFormat(o: Record<string, unknown>): PreferenceFormat {
  if ('preferred_output' in o || 'non_preferred_output' in o || ('input' in o && !('prompt' in o))) return 'chat-completions';
  if (!('prompt' in o) && !('responses' in o) && typeof o.chosen === 'string' && typeof o.rejected === 'string' && o.chosen.includes(HH_ASSISTANT)) return 'hh';
  return 'trl';
}

/** An HH pair split at the last "\n\nAssistant:" of the two transcripts' common prefix. */
export function splitHh(chosen: string, rejected: string): { prompt: string; chosen: string; rejected: string } | undefined {
  let common = 0;
  while (common < chosen.length && common < rejected.length && chosen[common] === rejected[common]) common++;
  const at = chosen.lastIndexOf(HH_ASSISTANT, common - HH_ASSISTANT.length);
  if (at < 0 || common < HH_ASSISTANT.length) return undefined;
  const end = at + HH_ASSISTANT.length;
  return { prompt: chosen.slice(0, end), chosen: chosen.slice(end), rejected: rejected.slice(end) };
}

export type FieldProblem = (message: string, field?: string) => void;

/**
 * The line's pair fields under TRL's names ({prompt, chosen, rejected}), whatever its format, or
 * undefined after reporting why not (with the line's own field names). TRL lines pass unchanged.
 */
export function toTrlFields(o: Record<string, unknown>, problem: FieldProblem): Record<string, unknown> | undefined {
  switch (detectFormat(o)) {
    case 'trl':
      return o;
    case 'chat-completions': {
      const input = o.input as { messages?: unknown } | undefined;
      if (typeof input !== 'object' || input === null || !Array.isArray(input.messages)) {
        problem('chat-completions format: expected "input": {"messages": [...]}', 'input.messages');
        return undefined;
      }
      for (const f of ['preferred_output', 'non_preferred_output']) {
        if (!Array.isArray(o[f])) {
          problem('chat-completions format: expected a list of {"role", "content"} messages', f);
          return undefined;
        }
      }
      return { prompt: input.messages, chosen: o.preferred_output, rejected: o.non_preferred_output };
    }
    case 'hh': {
      const split = splitHh(o.chosen as string, o.rejected as string);
      if (!split) {
        problem(
          `HH format: "chosen" and "rejected" share no prompt ending in "${JSON.stringify(HH_ASSISTANT).slice(1, -1)}" (add "prompt" to use TRL's format)`,
          'chosen',
        );
        return undefined;
      }
      return split;
    }
  }
}

/** The pair written in a format. Text pairs become one user turn in chat-completions; message lists in HH become Human/Assistant turns. */
export function fromTrlFields(pair: { prompt: Text; chosen: Text; rejected: Text }, format: PreferenceFormat): Record<string, unknown> {
  const messages = (t: Text, role: string): ChatMessage[] => (typeof t === 'string' ? [{ role, content: t }] : t);
  switch (format) {
    case 'trl':
      return { prompt: pair.prompt, chosen: pair.chosen, rejected: pair.rejected };
    case 'chat-completions':
      return {
        input: { messages: messages(pair.prompt, 'user') },
        preferred_output: messages(pair.chosen, 'assistant'),
        non_preferred_output: messages(pair.rejected, 'assistant'),
      };
    case 'hh': {
      const transcript = (t: Text) =>
        typeof t === 'string'
          ? t
          : t.map((m) => `${m.role === 'user' ? HH_HUMAN : m.role === 'assistant' ? HH_ASSISTANT : `\n\n${m.role}:`} ${m.content}`).join('');
      const prompt = typeof pair.prompt === 'string' ? pair.prompt : transcript(pair.prompt) + HH_ASSISTANT;
      const response = (t: Text) => (typeof t === 'string' ? t : ' ' + t.map((m) => m.content).join('\n\n'));
      return { chosen: prompt + response(pair.chosen), rejected: prompt + response(pair.rejected) };
    }
  }
}
