// What one preference pair becomes for training, token by token: the shape `dpo tokens --json`
// writes and the labeling editor's preview shows. Pure data; computed in src/engine/data/token-preview.ts.

/** prompt: masked (no loss); response: trained; cut: removed by max_length/max_prompt_length. */
export type TokenRole = 'prompt' | 'response';

export interface PreviewToken {
  id: number;
  /** The token decoded on its own (a byte of a multi-byte character shows as U+FFFD). */
  text: string;
  role: TokenRole;
  /** The tokenizer's EOS (or the chat template's end-of-turn when it is EOS). */
  eos: boolean;
  /** Cut by truncation: not seen in training. */
  cut: boolean;
}

export interface PreviewSide {
  /** Every token before truncation, prompt first, in training order. */
  tokens: PreviewToken[];
  promptTokens: number;
  responseTokens: number;
  /** Tokens left after truncation. */
  keptPromptTokens: number;
  keptResponseTokens: number;
}

export interface TokenPreview {
  line: number;
  conversational: boolean;
  maxLength: number;
  maxPromptLength: number | null;
  chosen: PreviewSide;
  rejected: PreviewSide;
  /** The prompt cannot be trained on at all: it fills max_length alone. */
  dropped: boolean;
  /**
   * Set for an unpaired line ({prompt, completion, label}, KTO): `chosen` is its one completion as
   * KTO trains on it, with this label (null: not labeled yet); `rejected` repeats it and is not shown.
   */
  unpairedLabel?: boolean | null;
  warnings: PreviewWarning[];
}

export type PreviewWarningCode = 'prompt-not-prefix' | 'truncated-equal' | 'dropped';

export interface PreviewWarning {
  code: PreviewWarningCode;
  message: string;
}

/** An unpaired line's label as KTO reads it, for the preview's title. */
export function unpairedWord(label: boolean | null): string {
  return label === null ? 'not labeled yet' : label ? 'label true: desirable' : 'label false: undesirable';
}
